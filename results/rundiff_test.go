package results

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/suites"
)

func TestDiffRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	a := fakeRecord("v1", t0, 0, false)
	b := fakeRecord("v2", t0.Add(time.Hour), 0, false)
	a.Candidate.Run.Results = []suites.CaseResult{{ID: "a/b/c", Obs: &suites.Observation{Type: suites.TResult, Value: "0"}}}
	b.Candidate.Run.Results = []suites.CaseResult{{ID: "a/b/c", Obs: &suites.Observation{Type: suites.TResult, Value: "EINVAL"}}}
	a.Candidate.Summary.Kmsg = []string{"x/y/z: WARNING: old"}
	b.Candidate.Summary.Crashes = []string{"a/b/d: kernel panic"}
	// v2 is 10 % slower than v1 on the candidate.
	a.Perf = &PerfResult{Run: fakePerfRun(rand.New(rand.NewPCG(1, 2)), 8, 0)}
	b.Perf = &PerfResult{Run: fakePerfRun(rand.New(rand.NewPCG(3, 4)), 8, 0.10)}

	d, err := DiffRuns(a, b, "candidate", PerfStats{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Changes) != 1 || d.Changes[0].To != "result:EINVAL" {
		t.Errorf("changes %v", d.Changes)
	}
	if len(d.NewProblems) != 1 || !strings.Contains(d.NewProblems[0], "kernel panic") || len(d.Gone) != 1 {
		t.Errorf("new %v, gone %v", d.NewProblems, d.Gone)
	}
	regressions := 0
	for _, c := range d.Perf {
		if c.Verdict == PerfRegression {
			regressions++
		}
	}
	if regressions == 0 || !d.Changed() {
		t.Errorf("no perf regression found between v1 and v2:\n%s", d.Text())
	}
	// The baselines did not change at all (same fake kernel, no shift).
	d, err = DiffRuns(a, a, "baseline", PerfStats{})
	if err != nil || d.Changed() {
		t.Errorf("a run against itself changed: %v\n%s", err, d.Text())
	}
	if _, err := DiffRuns(a, b, "middle", PerfStats{}); err == nil {
		t.Error("side middle accepted")
	}
}
