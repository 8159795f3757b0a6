package results

import (
	"context"
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
	cache := vm.DefaultCacheDir()
	src, err := build.FindSource()
	if err != nil {
		t.Fatal(err)
	}
	agent, _, err := build.Guest(context.Background(), src, filepath.Join(cache, "guest"))
	if err != nil {
		t.Fatal(err)
	}
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
