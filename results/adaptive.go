package results

import (
	"fmt"
	"math"
	"sort"

	"github.com/patchtest/patchtest/suites/runs"
)

// A change not yet decided asks for more samples (Undecided) when it
// is at least HintFraction of the fail size and its p (before Holm's
// correction) under HintP: a metric whose samples sit at a few levels
// per batch (the TCP paths' wall time), far apart, has a large p and
// would not settle in a few batches more; with it, simulated null runs
// took about 3 more batches each and real ones 10, without a caught
// cost more.
const (
	HintFraction = 0.5
	HintP        = 0.2
)

// Undecided returns the benchmarks of run whose comparison could still go
// either way at the fail size failPct: some metric moved by at least
// HintFraction of failPct, in either direction, with p under HintP, and
// no metric is already
// a significant change of failPct or more (after Holm's correction, as
// ComparePerf decides). A run takes another batch of each (adaptive
// sampling): a 2 % cost whose median came out at 1.3 %, or whose p did
// not survive Holm's correction, is measured again rather than let go,
// and a benchmark that did not move costs nothing more. The list is
// sorted.
func Undecided(run *runs.Perf, st PerfStats, failPct float64) []string {
	hint := HintFraction * failPct
	moved, decided := map[string]bool{}, map[string]bool{}
	for _, c := range ComparePerf(run, st) {
		switch {
		case c.Verdict == PerfUnknown:
		case c.Significant() && math.Abs(c.ChangePct) >= failPct:
			decided[c.Bench] = true
		case math.Abs(c.ChangePct) >= hint && c.P < HintP:
			moved[c.Bench] = true
		}
	}
	var out []string
	for b := range moved {
		if !decided[b] {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out
}

// lookedAgain corrects c for the looks adaptive sampling took at its
// benchmark: each pass that took more samples tested the comparison
// again, and a null comparison tested looks times comes out significant
// up to looks times as often. So p is multiplied by looks (Bonferroni
// over the looks) and the verdict drawn again.
func lookedAgain(c *PerfChange, looks int, st PerfStats) {
	p := math.Min(1, c.P*float64(looks))
	c.Warnings = append(c.Warnings, fmt.Sprintf("adaptive: measured again in %d more passes while undecided, p %.2g taken as %.2g", looks-1, c.P, p))
	c.P = p
	if p >= st.Alpha && c.Verdict != PerfSame {
		c.Verdict = PerfSame
	}
}
