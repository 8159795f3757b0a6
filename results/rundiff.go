package results

import (
	"fmt"
	"sort"
	"strings"

	"github.com/patchtest/patchtest/suites/runs"
)

// RunDiff compares one side of two runs: e.g. the candidates of v1 and v2
// of a series, or the baselines of two nights.
type RunDiff struct {
	Side    string
	A, B    string // the runs' IDs
	Changes []Change
	// NewProblems are problems (invariants, crashes, kernel warnings)
	// in B's kernel that A's did not have; Gone the reverse.
	NewProblems, Gone []string
	// Perf compares the side's perf samples of A (as base) and B.
	Perf []PerfChange
	// Cases is the number of cases in B.
	Cases int
}

// DiffRuns compares side (baseline or candidate) of runs a and b.
func DiffRuns(a, b *Record, side string, st PerfStats) (*RunDiff, error) {
	sa, err := a.Side(side)
	if err != nil {
		return nil, err
	}
	sb, err := b.Side(side)
	if err != nil {
		return nil, err
	}
	if sa.Run == nil || sb.Run == nil {
		return nil, fmt.Errorf("the %s kernel of one run has no results", side)
	}
	d := &RunDiff{Side: side, A: a.ID, B: b.ID, Changes: Diff(sa.Run.Results, sb.Run.Results), Cases: len(sb.Run.Results)}
	pa, pb := problems(sa.Summary), problems(sb.Summary)
	for p := range pb {
		if !pa[p] {
			d.NewProblems = append(d.NewProblems, p)
		}
	}
	for p := range pa {
		if !pb[p] {
			d.Gone = append(d.Gone, p)
		}
	}
	sort.Strings(d.NewProblems)
	sort.Strings(d.Gone)
	if a.Perf != nil && b.Perf != nil {
		// The side's samples of run a become the baseline, b's the
		// candidate, and the usual statistics apply.
		merged := &runs.Perf{Level: b.Perf.Run.Level}
		inA := map[string]bool{}
		for _, id := range a.Perf.Run.Benchmarks {
			inA[id] = true
		}
		for _, id := range b.Perf.Run.Benchmarks {
			if inA[id] {
				merged.Benchmarks = append(merged.Benchmarks, id)
			}
		}
		for _, s := range a.Perf.Run.Samples {
			if s.Side == side {
				s.Side = runs.Baseline
				merged.Samples = append(merged.Samples, s)
			}
		}
		for _, s := range b.Perf.Run.Samples {
			if s.Side == side {
				s.Side = runs.Candidate
				merged.Samples = append(merged.Samples, s)
			}
		}
		d.Perf = ComparePerf(merged, st)
	}
	return d, nil
}

func problems(s ProblemsSummary) map[string]bool {
	m := map[string]bool{}
	for _, l := range s.Crashes {
		m["crash: "+l] = true
	}
	for _, l := range s.Invariants {
		m["invariant failed: "+l] = true
	}
	for _, l := range s.Kmsg {
		m["kernel log: "+l] = true
	}
	return m
}

// Changed reports whether anything differs that a reviewer must see:
// an observation, a new problem, or a significant perf change.
func (d *RunDiff) Changed() bool {
	if len(d.Changes) > 0 || len(d.NewProblems) > 0 {
		return true
	}
	for _, c := range d.Perf {
		if c.Significant() {
			return true
		}
	}
	return false
}

// Text renders the comparison for the terminal or a mail.
func (d *RunDiff) Text() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("%s kernels: %s -> %s: %d of %d cases changed", d.Side, d.A, d.B, len(d.Changes), d.Cases)
	writeChanges(w, d.Changes)
	if len(d.NewProblems) > 0 {
		w("")
		w("New problems in %s:", d.B)
		for _, p := range d.NewProblems {
			w("  %s", p)
		}
	}
	if len(d.Gone) > 0 {
		w("")
		w("Problems of %s gone in %s:", d.A, d.B)
		for _, p := range d.Gone {
			w("  %s", p)
		}
	}
	if len(d.Perf) > 0 {
		w("")
		w("Perf, %s of %s (base) vs %s (new):", d.Side, d.A, d.B)
		b.WriteString(PerfTable(d.Perf))
	}
	return b.String()
}
