package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// The reference series run patch by patch: each change of the whole
// series is attributed to the patch that makes it — the read side
// (vmsplice out of a pipe) to the preadv2 patch, everything else to the
// pwritev2 patch that makes vmsplice into a pipe copy — nothing to the
// SPLICE_F_GIFT clean-up, and no change is undone along the way.
func TestIntegrationPerPatch(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	series := filepath.Join("..", "..", "..", "kernels", "patches", "vmsplice-wrapper")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	out := t.TempDir()
	rec, err := Execute(ctx, Options{
		Baseline:  configs.KernelSpec{Source: "debian:6.12"},
		Candidate: configs.KernelSpec{Source: "debian:6.12", Patches: series},
		Expect:    filepath.Join(series, "expect.yaml"),
		PerPatch:  true,
		Boot:      vm.BootOptions{GuestBinary: agent, CacheDir: cache},
		CacheDir:  cache,
		OutDir:    out,
		Events:    func(e results.Event) { t.Log(e) },
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("report:\n%s", rec.Markdown())
	p := rec.PerPatch
	if p == nil || len(p.Columns) != 3 {
		t.Fatalf("per patch: %+v", p)
	}
	for _, c := range p.Columns {
		if c.Status != results.PatchOK {
			t.Errorf("%s %s: %s %s", c.Label(), c.Subject, c.Status, c.Reason)
		}
	}
	if len(rec.Changes) == 0 || len(p.Matrix) != len(rec.Changes) {
		t.Errorf("%d rows in the matrix for %d changes of the whole series", len(p.Matrix), len(rec.Changes))
	}
	for _, r := range p.Matrix {
		want := 1
		if strings.HasPrefix(r.ID, "vmsplice/read/") {
			want = 2
		}
		if r.By != want || r.Fate != "kept" {
			t.Errorf("%s: made by patch %d (%s), want %d (kept)", r.ID, r.By, r.Fate, want)
		}
	}
	if v := rec.Verdict; v == nil || len(v.Unexpected) > 0 || len(v.Unmet) > 0 {
		t.Errorf("verdict of the whole series: %+v", v)
	}
	if rec.Failed() {
		t.Error("the run failed")
	}
	if err := rec.Validate(); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
	for _, f := range []string{"report.md", "report.html", "junit.xml"} {
		b, err := os.ReadFile(filepath.Join(rec.Dir, f))
		if err != nil || !strings.Contains(string(b), "[PATCH 2/3]") {
			t.Errorf("%s does not show the patches: %v", f, err)
		}
	}
}
