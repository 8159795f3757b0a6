package pipeline

import (
	"encoding/json"
	"testing"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels/artifact"
	"github.com/patchtest/patchtest/kernels/kconfig"
	"github.com/patchtest/patchtest/suites/runs/runstest"
)

// The record's descriptions of kernels have the builder's and the
// configuration's JSON, field for field: run.json is what it was, and a
// field added upstream and not copied fails here.
func TestDescriptionsKeepEveryField(t *testing.T) {
	var (
		bld  artifact.Build
		caps kconfig.Capabilities
		spec configs.KernelSpec
		diff []kconfig.ConfigDiff
	)
	for _, p := range []any{&bld, &caps, &spec, &diff} {
		runstest.Fill(p)
	}
	for _, tc := range []struct {
		name     string
		upstream any
		record   any
	}{
		{"build", bld, describeBuild(&bld)},
		{"capabilities", caps, describeCapabilities(caps)},
		{"spec", spec, describeSpec(spec)},
		{"config diffs", diff, describeConfigDiffs(diff)},
	} {
		want, _ := json.Marshal(tc.upstream)
		got, err := json.Marshal(tc.record)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: the record loses or renames fields:\n got %s\nwant %s", tc.name, got, want)
		}
	}
}
