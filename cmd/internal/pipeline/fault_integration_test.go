package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// Kernels with a fault injected by a small patch of their own
// (testdata/faults/NAME), each built on stock: every run against stock
// must name the problem against the case that triggered it, give every
// selected case a result (an observation, a crash, a hang, or not run with
// the reason), fail, end in bounded time without a harness error, and
// leave no QEMU behind. -short skips them (each builds a kernel).
func TestIntegrationFaultKernels(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	nobug, err := filepath.Abs(filepath.Join("testdata", "faults", "nobug.config"))
	if err != nil {
		t.Fatal(err)
	}
	hasPrefix := func(l []string, p string) bool {
		for _, x := range l {
			if strings.HasPrefix(x, p) {
				return true
			}
		}
		return false
	}
	tests := []struct {
		fault     string
		fragments []string
		patterns  []string
		// check returns what is wrong with the record, if anything.
		check func(r *results.Record) string
	}{
		{fault: "corrupt", patterns: []string{"vmsplice/read/*", "tee/data/*"}, check: func(r *results.Record) string {
			if s := r.Candidate.Summary.Invariants; len(s) != 1 || !strings.HasPrefix(s[0], "vmsplice/read/integrity-shapes: ") {
				return fmt.Sprintf("invariant failures %q, want vmsplice/read/integrity-shapes alone", s)
			}
			return ""
		}},
		{fault: "panic", patterns: []string{"splice/errors/*", "tee/data/*"}, check: func(r *results.Record) string {
			if s := r.Candidate.Summary.Crashes; len(s) != 1 || !strings.HasPrefix(s[0], "splice/errors/same-pipe: ") {
				return fmt.Sprintf("crashes %q, want splice/errors/same-pipe alone", s)
			}
			return ""
		}},
		{fault: "warn", patterns: []string{"sendfile/len/*", "tee/data/*"}, check: func(r *results.Record) string {
			if s := r.Candidate.Summary.Kmsg; len(s) != 1 || !strings.HasPrefix(s[0], "sendfile/len/zero: ") {
				return fmt.Sprintf("kernel warnings %q, want sendfile/len/zero alone", s)
			}
			return ""
		}},
		{fault: "hang", patterns: []string{"splice/len/*", "tee/data/*"}, check: func(r *results.Record) string {
			// The two cases that splice zero bytes, and no other.
			s := r.Candidate.Summary.Hangs
			if len(s) != 2 || !hasPrefix(s, "splice/len/zero: hung") || !hasPrefix(s, "splice/len/zero-closed-fds: hung") {
				return fmt.Sprintf("hangs %q, want splice/len/zero and splice/len/zero-closed-fds alone", s)
			}
			return ""
		}},
		// (1) A task asleep in D state holding both pipes' mutexes: the
		// case hangs, closing its pipes would hang too, and the hung-task
		// detector names the blocked task.
		{fault: "dstate", patterns: []string{"splice/integrity/*", "tee/data/*"}, check: func(r *results.Record) string {
			s := r.Candidate.Summary.Hangs
			if len(s) != 1 || !strings.HasPrefix(s[0], "splice/integrity/pipe-pipe-socket: hung") {
				return fmt.Sprintf("hangs %q, want splice/integrity/pipe-pipe-socket alone", s)
			}
			res := result(r.Candidate.Run, "splice/integrity/pipe-pipe-socket")
			if !strings.Contains(res.Hang, "blocked for more than") || !strings.Contains(res.Hang, "pipe_release") {
				return "the hang's evidence lacks the hung-task report or the close blocked in pipe_release (sysrq w):\n" + res.Hang
			}
			return ""
		}},
		// (2) A panic in every vmsplice() call: each group is cut short
		// after three crashes, the other suites still run.
		{fault: "panicall", patterns: []string{"vmsplice/errors/*", "vmsplice/read/*", "tee/*"}, check: func(r *results.Record) string {
			s := r.Candidate.Summary
			if len(s.Crashes) != 6 || !hasPrefix(s.Crashes, "vmsplice/errors/") || !hasPrefix(s.Crashes, "vmsplice/read/") {
				return fmt.Sprintf("crashes %q, want three in each vmsplice group", s.Crashes)
			}
			// Every vmsplice case after the third crash of its group.
			vs, err := suites.Catalogue().Select("vmsplice/errors/*", "vmsplice/read/*")
			if err != nil {
				return err.Error()
			}
			if want := len(vs) - 6; len(s.NotRun) != want || !strings.Contains(s.NotRun[0], "crashed or hung in 3 earlier cases of vmsplice/") {
				return fmt.Sprintf("not run %q, want the other %d vmsplice cases", s.NotRun, want)
			}
			for _, res := range r.Candidate.Run.Results {
				if strings.HasPrefix(res.ID, "tee/") && res.Obs == nil {
					return res.ID + " did not run after the vmsplice crashes"
				}
			}
			return ""
		}},
		// (3) An oops that kills the calling task while the kernel goes
		// on: a crash of the case, not a hang.
		{fault: "oops", patterns: []string{"sendfile/len/*", "tee/data/*"}, check: func(r *results.Record) string {
			s := r.Candidate.Summary.Crashes
			if len(s) != 2 || !strings.HasPrefix(s[0], "sendfile/len/") || !strings.Contains(result(r.Candidate.Run, "sendfile/len/zero").Error, "the kernel carried on") {
				return fmt.Sprintf("crashes %q, want both sendfile/len cases as oopses", s)
			}
			return ""
		}},
		// (4) A soft lockup inside splice(): the guest cannot answer, the
		// host's watchdog charges the case, and the kernel's own stall
		// or lockup report is its evidence.
		{fault: "lockup", patterns: []string{"splice/len/*", "tee/data/*"}, check: func(r *results.Record) string {
			s := r.Candidate.Summary.Hangs
			if len(s) != 2 || !hasPrefix(s, "splice/len/zero: hung") || !hasPrefix(s, "splice/len/zero-closed-fds: hung") {
				return fmt.Sprintf("hangs %q, want splice/len/zero and splice/len/zero-closed-fds alone", s)
			}
			res := result(r.Candidate.Run, "splice/len/zero")
			if !strings.Contains(res.Error, "host watchdog") || !strings.Contains(res.Hang, "soft lockup") && !strings.Contains(res.Hang, "rcu stall") {
				return "not found by the host watchdog with a lockup or stall report:\n" + res.Error + "\n" + res.Hang
			}
			return ""
		}},
		// (5) A WARN once at boot, before any case.
		{fault: "bootwarn", patterns: []string{"tee/data/*"}, check: func(r *results.Record) string {
			if !hasPrefix(r.Candidate.Summary.Kernel, "while booting: warning: WARNING:") {
				return fmt.Sprintf("kernel problems %q, want the boot warning", r.Candidate.Summary.Kernel)
			}
			return ""
		}},
		// A kernel without CONFIG_BUG: its WARN is silent, and the report
		// must say that warnings could not be detected on it.
		{fault: "warn", fragments: []string{nobug}, patterns: []string{"sendfile/len/*"}, check: func(r *results.Record) string {
			if c := r.Candidate.Capabilities; c == nil || !slices.ContainsFunc(c.Limits, func(l runs.Limit) bool { return l.Option == "CONFIG_BUG" }) {
				return fmt.Sprintf("capabilities %+v do not name CONFIG_BUG", c)
			}
			if !strings.Contains(r.Markdown(), "kernel warnings cannot be detected") {
				return "the report does not say warnings cannot be detected"
			}
			if r.Mismatch == nil || len(r.Mismatch.Config) == 0 || r.Mismatch.Config[0].Option != "CONFIG_BUG" {
				return fmt.Sprintf("mismatch %+v does not list CONFIG_BUG", r.Mismatch)
			}
			return ""
		}},
	}
	for _, tc := range tests {
		name := tc.fault
		if len(tc.fragments) > 0 {
			name += "-nobug"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			start := time.Now()
			rec, err := Execute(ctx, Options{
				Baseline:  configs.KernelSpec{Source: "debian:6.12"},
				Candidate: configs.KernelSpec{Source: "debian:6.12", Patches: filepath.Join("testdata", "faults", tc.fault), Fragments: tc.fragments},
				Patterns:  tc.patterns,
				Boot:      vm.BootOptions{GuestBinary: agent, CacheDir: cache},
				CacheDir:  cache,
				OutDir:    t.TempDir(),
				Events:    func(e results.Event) { t.Log(e) },
			})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			wall := time.Since(start)
			t.Logf("%s: run took %v (candidate %v of a budget of %v)", name, wall.Round(time.Second), rec.Candidate.Run.Wall.Round(time.Second), rec.Candidate.Run.Budget.Round(time.Second))
			t.Logf("report:\n%s", rec.Markdown())
			if wall > rec.Baseline.Run.Budget+rec.Candidate.Run.Budget+10*time.Minute {
				t.Errorf("the run took %v, past its budget", wall)
			}
			// The run fails for the kernel's fault itself, not merely
			// for a changed observation, and only the candidate has it.
			if len(tc.fragments) == 0 && (!rec.Failed() || !rec.Candidate.Summary.Findings()) {
				t.Errorf("the run did not fail on a finding of the candidate: %+v", rec.Candidate.Summary)
			}
			if rec.Baseline.Summary.Findings() {
				t.Errorf("findings on the stock baseline: %+v", rec.Baseline.Summary)
			}
			if msg := tc.check(rec); msg != "" {
				t.Errorf("%s\n%s", msg, rec.Markdown())
			}
			// Every selected case has a result of its own on both
			// kernels, once: an observation, a crash, a hang, an error or
			// not run with its reason, never none (a count would take a
			// "missing" or a doubled case for one); on stock, an outcome.
			want, _ := suites.Catalogue().Select(tc.patterns...)
			for _, side := range []*results.KernelResult{&rec.Baseline, &rec.Candidate} {
				got := map[string]suites.CaseResult{}
				for _, r := range side.Run.Results {
					if _, twice := got[r.ID]; twice {
						t.Errorf("%s: %s has two results", side.Role, r.ID)
					}
					got[r.ID] = r
				}
				for _, c := range want {
					r, ok := got[c.ID]
					o := results.CaseOutcome(r)
					switch {
					case !ok:
						t.Errorf("%s: no result for %s", side.Role, c.ID)
					case o == "missing" && r.Hang == "":
						t.Errorf("%s: %s has a result with nothing in it: %+v", side.Role, c.ID, r)
					case side == &rec.Baseline && (r.NotRun != "" || r.Crash != "" || r.Hang != ""):
						t.Errorf("stock kernel: %s: %s", c.ID, o)
					}
					delete(got, c.ID)
				}
				for id := range got {
					t.Errorf("%s: %s was not selected", side.Role, id)
				}
			}
			if err := schema.Record(rec); err != nil {
				t.Errorf("run.json does not validate: %v", err)
			}
			if left := vmtest.QEMUChildren(); len(left) > 0 {
				t.Errorf("QEMU processes left: %v", left)
			}
		})
	}
}

// result returns run's result for case id.
func result(run *runs.Suite, id string) suites.CaseResult {
	for _, r := range run.Results {
		if r.ID == id {
			return r
		}
	}
	return suites.CaseResult{}
}

// --jobs: both kernels side by side, each over two machines, give the
// same results in the same order as one machine at a time.
func TestIntegrationJobs(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	out := t.TempDir()
	run := func(jobs int) *results.Record {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		rec, err := Execute(ctx, Options{
			Baseline:  configs.KernelSpec{Source: "debian:6.12"},
			Candidate: configs.KernelSpec{Source: "debian:6.12", Patches: filepath.Join("..", "..", "..", "kernels", "patches", "vmsplice-wrapper")},
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
	for _, r := range []*results.Record{one, four} {
		if err := schema.Record(r); err != nil {
			t.Errorf("run.json does not validate: %v", err)
		}
	}
	if len(four.Baseline.Run.Boots) != 2 || len(four.Candidate.Run.Boots) != 2 {
		t.Errorf("jobs 4: %d and %d boots, want 2 per kernel", len(four.Baseline.Run.Boots), len(four.Candidate.Run.Boots))
	}
	ids := func(r *results.Record) (out []string) {
		for _, res := range r.Candidate.Run.Results {
			out = append(out, res.ID+"="+results.CaseOutcome(res))
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
	for _, r := range []*results.Record{one, four} {
		for _, f := range []string{"run.json", "report.md", "report.html", "junit.xml", "kcidb.json", "events.jsonl"} {
			if st, err := os.Stat(filepath.Join(r.Dir, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %s missing or empty (%v)", r.ID, f, err)
			}
		}
		b, _ := os.ReadFile(filepath.Join(r.Dir, "kcidb.json"))
		if err := schema.ValidateKCIDB(b); err != nil {
			t.Errorf("%s: kcidb.json: %v", r.ID, err)
		}
		ev, _ := os.ReadFile(filepath.Join(r.Dir, "events.jsonl"))
		if n, want := strings.Count(string(ev), `"kind":"case"`), len(r.Baseline.Run.Results)+len(r.Candidate.Run.Results); n != want {
			t.Errorf("%s: %d case events, want %d", r.ID, n, want)
		}
		if loaded, err := results.LoadRecord(r.Dir); err != nil || len(loaded.Changes) != len(r.Changes) {
			t.Errorf("%s: run.json reads back with %v", r.ID, err)
		}
	}
	x, err := results.OpenIndex(out)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if list, err := x.List(context.Background(), 0); err != nil || len(list) != 2 || list[0].Changes != len(four.Changes) {
		t.Errorf("index: %+v, %v", list, err)
	}
}
