package results

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
)

// Kernels with a fault injected by a small patch of their own
// (testdata/faults/NAME): each run against stock must name the problem
// against the case that triggered it, keep the results gathered around
// it, and fail. -short skips them (each builds a kernel).
func TestIntegrationFaultKernels(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and boots kernels; skipped with -short")
	}
	cache, agent := testGuest(t)
	patterns := []string{"splice/errors/*", "splice/len/*", "sendfile/len/*", "vmsplice/read/*", "tee/data/*"}
	tests := []struct {
		fault string
		// problem returns the line that names the fault.
		problem func(r *Record) []string
		want    string
	}{
		{"corrupt", func(r *Record) []string { return r.Candidate.Summary.Invariants }, "vmsplice/read/integrity-shapes: "},
		{"panic", func(r *Record) []string { return r.Candidate.Summary.Crashes }, "splice/errors/same-pipe: "},
		{"warn", func(r *Record) []string { return r.Candidate.Summary.Kmsg }, "sendfile/len/zero: "},
		{"hang", func(r *Record) []string {
			var out []string
			for _, c := range r.Changes {
				out = append(out, c.String())
			}
			return out
		}, "splice/len/zero: result:0 -> error: hung"},
	}
	for _, tc := range tests {
		t.Run(tc.fault, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			rec, err := Execute(ctx, Options{
				Baseline:  KernelSpec{Source: "debian:6.12"},
				Candidate: KernelSpec{Source: "debian:6.12", Patches: filepath.Join("testdata", "faults", tc.fault)},
				Patterns:  patterns,
				Boot:      vm.BootOptions{GuestBinary: agent, CacheDir: cache},
				CacheDir:  cache,
				OutDir:    t.TempDir(),
				Events:    func(e Event) { t.Log(e) },
			})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if !rec.Failed() {
				t.Error("the run did not fail")
			}
			found := false
			for _, l := range tc.problem(rec) {
				t.Logf("problem: %s", l)
				found = found || strings.HasPrefix(l, tc.want)
			}
			if !found {
				t.Errorf("no problem named %q;\n%s", tc.want, rec.Markdown())
			}
			// Everything else still ran: every selected case has a result.
			want, _ := suites.Catalogue().Select(patterns...)
			if b, c := len(rec.Baseline.Run.Results), len(rec.Candidate.Run.Results); b != len(want) || c != len(want) {
				t.Errorf("baseline %d results, candidate %d; want %d each", b, c, len(want))
			}
		})
	}
}

// --jobs: both kernels side by side, each over two machines, give the
// same results in the same order as one machine at a time.
func TestIntegrationJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and boots kernels; skipped with -short")
	}
	cache, agent := testGuest(t)
	out := t.TempDir()
	run := func(jobs int) *Record {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		rec, err := Execute(ctx, Options{
			Baseline:  KernelSpec{Source: "debian:6.12"},
			Candidate: KernelSpec{Source: "debian:6.12", Patches: "../kernels/patches/vmsplice-wrapper"},
			Patterns:  []string{"vmsplice/alias/*", "tee/*", "splice/len/*"},
			Boot:      vm.BootOptions{GuestBinary: agent, CacheDir: cache},
			CacheDir:  cache,
			Jobs:      jobs,
			OutDir:    out,
		})
		if err != nil {
			t.Fatalf("jobs %d: %v", jobs, err)
		}
		return rec
	}
	one, four := run(1), run(4)
	// Real records (real boots, real results) match the published schema.
	for _, r := range []*Record{one, four} {
		if err := r.Validate(); err != nil {
			t.Errorf("run.json does not validate: %v", err)
		}
	}
	if len(four.Baseline.Run.Boots) != 2 || len(four.Candidate.Run.Boots) != 2 {
		t.Errorf("jobs 4: %d and %d boots, want 2 per kernel", len(four.Baseline.Run.Boots), len(four.Candidate.Run.Boots))
	}
	ids := func(r *Record) (out []string) {
		for _, res := range r.Candidate.Run.Results {
			out = append(out, res.ID+"="+Outcome(res))
		}
		return out
	}
	if a, b := strings.Join(ids(one), "\n"), strings.Join(ids(four), "\n"); a != b {
		t.Errorf("results differ:\njobs 1:\n%s\njobs 4:\n%s", a, b)
	}
	if len(one.Changes) == 0 || len(one.Changes) != len(four.Changes) {
		t.Errorf("changes: %d with one job, %d with four", len(one.Changes), len(four.Changes))
	}

	// What the runs wrote: every report, a KCIDB submission that
	// validates, the event log with every case, both runs in the index.
	kcidb := kcidbSchema(t)
	for _, r := range []*Record{one, four} {
		for _, f := range []string{"run.json", "report.md", "report.html", "junit.xml", "kcidb.json", "events.jsonl"} {
			if st, err := os.Stat(filepath.Join(r.Dir, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %s missing or empty (%v)", r.ID, f, err)
			}
		}
		b, _ := os.ReadFile(filepath.Join(r.Dir, "kcidb.json"))
		if err := validate(t, kcidb, b); err != nil {
			t.Errorf("%s: kcidb.json: %v", r.ID, err)
		}
		ev, _ := os.ReadFile(filepath.Join(r.Dir, "events.jsonl"))
		if n, want := strings.Count(string(ev), `"kind":"case"`), len(r.Baseline.Run.Results)+len(r.Candidate.Run.Results); n != want {
			t.Errorf("%s: %d case events, want %d", r.ID, n, want)
		}
		if loaded, err := LoadRecord(r.Dir); err != nil || len(loaded.Changes) != len(r.Changes) {
			t.Errorf("%s: run.json reads back with %v", r.ID, err)
		}
	}
	x, err := OpenIndex(out)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if list, err := x.List(context.Background(), 0); err != nil || len(list) != 2 || list[0].Changes != len(four.Changes) {
		t.Errorf("index: %+v, %v", list, err)
	}
}

// testGuest returns the cache directory and the guest binary, built once.
func testGuest(t *testing.T) (cache, agent string) {
	t.Helper()
	cache = vm.DefaultCacheDir()
	src, err := build.FindSource()
	if err != nil {
		t.Fatal(err)
	}
	agent, _, err = build.Guest(context.Background(), src, filepath.Join(cache, "guest"))
	if err != nil {
		t.Fatal(err)
	}
	return cache, agent
}
