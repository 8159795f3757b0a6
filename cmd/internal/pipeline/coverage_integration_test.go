package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// Coverage of the stock kernel by the tee cases and one vmsplice case:
// the coverage kernel builds and boots, each case's counters come back,
// coverage.info is a tracefile lcov reads and genhtml rendered, fs/splice.c
// has lines hit, and tee's flag check and same-pipe error are reached by
// the cases that ask them, while vmsplice's are reached by no tee case.
func TestIntegrationCoverage(t *testing.T) {
	vmtest.Integration(t)
	lcov := vmtest.Program(t, setup.Need{Program: "lcov", Package: "lcov", Why: "to read the coverage"})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	res, err := Coverage(ctx, CoverageOptions{
		Patterns: []string{"tee/*", "vmsplice/alias/read"},
		Boot:     vm.BootOptions{GuestBinary: vmtest.Guest(t), CacheDir: vmtest.CacheDir()},
		CacheDir: vmtest.CacheDir(),
		OutDir:   t.TempDir(),
		Progress: func(s string) { t.Log(s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cases in %v; no data: %v", len(res.Cases), res.Elapsed.Round(time.Second), res.NoData)
	if len(res.NoData) > 0 || len(res.Cases) < 5 {
		t.Errorf("cases with counters: %v; without: %v", res.Cases, res.NoData)
	}
	info := filepath.Join(res.Dir, "coverage.info")
	if out, err := exec.Command(lcov, "--summary", info).CombinedOutput(); err != nil || !strings.Contains(string(out), "lines......:") {
		t.Errorf("lcov --summary %s: %v\n%s", info, err, out)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "html", "index.html")); err != nil {
		t.Errorf("genhtml's page: %v", err)
	}
	var splice bool
	for _, f := range res.Files {
		t.Logf("%-20s lines %s branches %s functions %s", f.Path, f.Lines, f.Branches, f.Functions)
		if f.Path == "fs/splice.c" {
			splice = f.Lines.Hit > 50 && f.Functions.Hit > 5 && f.Branches.Found > 0
		}
	}
	if !splice {
		t.Error("fs/splice.c: too little reached")
	}
	var teeFlags, teeSame, vmspliceByTee bool
	for _, c := range res.Checks {
		switch {
		case c.Syscall == "tee" && c.Kind == "flag check" && len(c.Cases) > 0:
			teeFlags = true
		case c.Syscall == "tee" && c.Kind == "error" && slices.Contains(c.Cases, "tee/errors/same-pipe"):
			teeSame = true
		case c.Syscall == "vmsplice" && c.Kind == "error" && strings.Contains(c.Text, "EBADF") && slices.ContainsFunc(c.Cases, func(s string) bool { return strings.HasPrefix(s, "tee/") }):
			vmspliceByTee = true
		}
	}
	if !teeFlags || !teeSame || vmspliceByTee {
		t.Errorf("tee's flag check reached %v, its same-pipe error by tee/errors/same-pipe %v; vmsplice's EBADF by a tee case %v", teeFlags, teeSame, vmspliceByTee)
	}
	if len(res.Unreached()) == 0 {
		t.Error("every check reached by a handful of cases: the mapping is not per case")
	}
}
