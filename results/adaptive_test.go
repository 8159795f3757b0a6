package results

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites/perf"
)

// Undecided names a benchmark that moved by half the fail size or more
// and is not yet a significant change of the fail size; one that did not
// move, or is already decided, costs nothing more.
func TestUndecided(t *testing.T) {
	const fail = 1.5
	for _, tc := range []struct {
		name  string
		shift float64 // the candidate's cost on sendfile
		want  bool    // sendfile undecided
	}{
		{"no change", 0, false},
		{"0.5 %: below half the fail size", 0.005, false},
		{"1 %: moved, not the fail size", 0.01, true},
		{"1.4 %: just below the fail size", 0.014, true},
		{"3 %: decided, fails", 0.03, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			const bench = "sendfile/file-tcp/1MiB"
			got := Undecided(countedRun(r, perf.Quick.Counted().Rounds, quiet, bench, tc.shift), PerfStats{}, fail)
			if has := len(got) == 1 && got[0] == bench; has != tc.want || len(got) > 1 {
				t.Errorf("Undecided = %v; want sendfile named: %v, and nothing else", got, tc.want)
			}
		})
	}
}

// A benchmark measured again is tested again: its p is multiplied by
// the looks, and a verdict that no longer holds goes back to no change.
func TestLookedAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       float64
		looks   int
		verdict string
		wantP   float64
		want    string
	}{
		{"survives", 0.001, 3, PerfRegression, 0.003, PerfRegression},
		{"no longer significant", 0.02, 3, PerfRegression, 0.06, PerfSame},
		{"below the threshold, no longer significant", 0.03, 2, PerfBelow, 0.06, PerfSame},
		{"capped at 1", 0.6, 4, PerfSame, 1, PerfSame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := PerfChange{P: tc.p, Verdict: tc.verdict}
			lookedAgain(&c, tc.looks, PerfStats{}.WithDefaults())
			if c.Verdict != tc.want || c.P < tc.wantP-1e-12 || c.P > tc.wantP+1e-12 {
				t.Errorf("verdict %q p %g; want %q p %g", c.Verdict, c.P, tc.want, tc.wantP)
			}
			if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], "adaptive:") {
				t.Errorf("warnings %q; want one adaptive note", c.Warnings)
			}
		})
	}
	// ComparePerf applies it to the benchmarks a run extended only.
	r := rand.New(rand.NewPCG(3, 4))
	run := countedRun(r, perf.Quick.Counted().Rounds, quiet, "", 0)
	run.Extended = map[string]int{"sendfile/file-tcp/1MiB": 2}
	for _, c := range ComparePerf(run, PerfStats{}) {
		noted := strings.Contains(strings.Join(c.Warnings, ";"), "adaptive:")
		if noted != (c.Bench == "sendfile/file-tcp/1MiB") {
			t.Errorf("%s %s: adaptive note %v", c.Bench, c.Metric, noted)
		}
	}
}

// quiet is noise of 0.1 % per sample, in CPU and wall time alike.
func quiet(r *rand.Rand, id string) func() (cpu, wall float64) {
	return func() (float64, float64) { v := 0.001 * r.NormFloat64(); return v, v }
}
