package results

import (
	"fmt"
	"math"
	"path"
	"sort"

	"github.com/patchtest/patchtest/suites/perf"
)

// PerfExpectation declares a perf change a series means to make:
// benchmarks matching Benchmarks (a glob on the ID or a leading part of
// it) and metrics matching
// Metrics (a glob; all when empty) may change in direction Change
// (regression, improvement or any).
type PerfExpectation struct {
	Benchmarks string `yaml:"benchmarks" json:"benchmarks"`
	Metrics    string `yaml:"metrics" json:"metrics,omitempty"`
	Change     string `yaml:"change" json:"change"`
	Why        string `yaml:"why" json:"why"`
}

func (x PerfExpectation) check() error {
	if x.Benchmarks == "" {
		return fmt.Errorf("no benchmarks pattern")
	}
	for _, p := range []string{x.Benchmarks, x.Metrics} {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	switch x.Change {
	case PerfRegression, PerfImprovement, "any":
	default:
		return fmt.Errorf("change %q: want regression, improvement or any", x.Change)
	}
	return nil
}

func (x PerfExpectation) matches(c PerfChange) bool {
	if !perf.MatchID(x.Benchmarks, c.Bench) {
		return false
	}
	if x.Metrics != "" {
		if ok, _ := path.Match(x.Metrics, c.Metric); !ok {
			return false
		}
	}
	return x.Change == "any" || x.Change == c.Verdict
}

// MarkExpected sets Expected on each significant change that one of xs
// declares.
func MarkExpected(cs []PerfChange, xs []PerfExpectation) {
	for i := range cs {
		if !cs[i].Significant() {
			continue
		}
		for _, x := range xs {
			if x.matches(cs[i]) {
				cs[i].Expected = x.Benchmarks + " (" + x.Change + ")"
				break
			}
		}
	}
}

// PerfRegressions returns the regressions that fail a run: significant
// (which includes Holm's correction over the benchmarks, see ComparePerf),
// declared by no expectation, and at least failPct percent, the largest
// first.
func PerfRegressions(cs []PerfChange, failPct float64) []PerfChange {
	var out []PerfChange
	for _, c := range cs {
		if c.Verdict == PerfRegression && c.Expected == "" && math.Abs(c.ChangePct) >= failPct {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return math.Abs(out[i].ChangePct) > math.Abs(out[j].ChangePct) })
	return out
}
