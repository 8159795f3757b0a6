package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites/perf"
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
	if err := schema.Record(rec); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
	for _, f := range []string{"report.md", "report.html", "junit.xml"} {
		b, err := os.ReadFile(filepath.Join(rec.Dir, f))
		if err != nil || !strings.Contains(string(b), "[PATCH 2/3]") {
			t.Errorf("%s does not show the patches: %v", f, err)
		}
	}
}

// A two-patch series run patch by patch with perf: a documentation patch
// that changes no code, then the 80 µs sendfile fault. Each patch is
// measured against the kernel before it: the sendfile cost is charged to
// the second patch, on sendfile's benchmark only, and the first patch
// costs nothing; the whole series' perf fails the run naming sendfile.
func TestIntegrationPerPatchPerf(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	series := t.TempDir()
	slow, err := os.ReadFile(filepath.Join("testdata", "faults", "slowsendfile", "0001-fault-slow-sendfile.patch"))
	if err != nil {
		t.Fatal(err)
	}
	docs := `From: patchtest test <patchtest@example.org>
Subject: [PATCH 1/2] Documentation: a note that changes no code

---
--- /dev/null
+++ b/Documentation/patchtest-perf-note.txt
@@ -0,0 +1 @@
+A note; no code changes.
-- 
2.39.5
`
	if err := os.WriteFile(filepath.Join(series, "0001-docs.patch"), []byte(docs), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(series, "0002-slow-sendfile.patch"), slow, 0o644); err != nil {
		t.Fatal(err)
	}
	benches := []string{"sendfile/file-tcp/1MiB", "splice/file-pipe-tcp/1MiB", "calib/read-tmpfs/1MiB"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	rec, err := Execute(ctx, Options{
		Baseline:    configs.KernelSpec{Source: "debian:6.12"},
		Candidate:   configs.KernelSpec{Source: "debian:6.12", Patches: series},
		PerPatch:    true,
		Patterns:    []string{"sendfile/offset/*"},
		Perf:        perf.Quick,
		PerfCounted: perf.Quick.Counted(),
		PerfClock:   vm.Instructions,
		Benchmarks:  benches,
		Boot:        vm.BootOptions{GuestBinary: agent, CacheDir: cache},
		CacheDir:    cache,
		OutDir:      t.TempDir(),
		Events:      func(e results.Event) { t.Log(e) },
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("report:\n%s", rec.Markdown())
	p := rec.PerPatch
	if p == nil || len(p.Columns) != 2 {
		t.Fatalf("per patch: %+v", p)
	}
	regressed := func(r *results.PerfResult) []string {
		var out []string
		if r == nil {
			return []string{"(no perf)"}
		}
		for _, c := range r.Changes {
			if c.Verdict == results.PerfRegression {
				out = append(out, c.Bench+" "+c.Metric)
			}
		}
		return out
	}
	for i, c := range p.Columns {
		if c.Status != results.PatchOK {
			t.Fatalf("%s: %s %s", c.Label(), c.Status, c.Reason)
		}
		if c.Perf == nil || c.Perf.Run == nil || len(c.Perf.Run.Benchmarks) != len(benches) {
			t.Fatalf("%s: perf %+v", c.Label(), c.Perf)
		}
		got := regressed(c.Perf)
		switch i {
		case 0:
			if len(got) > 0 {
				t.Errorf("the documentation patch regressed %q", got)
			}
		case 1:
			if !slices.Contains(got, "sendfile/file-tcp/1MiB "+perf.CPUPerGiB) {
				t.Errorf("the sendfile patch's regressions %q lack sendfile's CPU cost", got)
			}
			for _, g := range got {
				if !strings.HasPrefix(g, "sendfile/") {
					t.Errorf("the sendfile patch regressed %s", g)
				}
			}
		}
	}
	if rec.Perf == nil || !slices.ContainsFunc(rec.Perf.Regressions, func(c results.PerfChange) bool { return c.Bench == "sendfile/file-tcp/1MiB" }) {
		t.Errorf("the series' perf does not fail on sendfile: %+v", rec.Perf)
	}
	if !rec.Failed() {
		t.Error("an undeclared 80 µs sendfile cost did not fail the run")
	}
	for _, f := range []string{"report.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(rec.Dir, f))
		if err != nil || !strings.Contains(string(b), "[PATCH 1/2]") {
			t.Errorf("%s does not show the patches: %v", f, err)
		}
	}
}
