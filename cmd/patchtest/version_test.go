package main

import (
	"bytes"
	"runtime/debug"
	"testing"
)

func TestWriteVersion(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.23.4",
		Main:      debug.Module{Path: "github.com/patchtest/patchtest", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{
			{Key: "-compiler", Value: "gc"},
			{Key: "CGO_ENABLED", Value: "0"},
			{Key: "vcs.revision", Value: "86f3832"},
			{Key: "vcs.modified", Value: "false"},
		},
	}
	var b bytes.Buffer
	writeVersion(&b, info)
	want := "patchtest v0.3.0 (github.com/patchtest/patchtest)\ngo go1.23.4\nCGO_ENABLED 0\nvcs.revision 86f3832\nvcs.modified false\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
