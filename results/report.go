package results

import (
	"fmt"
	"strings"

	"github.com/patchtest/patchtest/suites/runs"
)

// Markdown renders the run as plain text that reads well both in a
// terminal and as a reply to a patch series on a mailing list: short
// lines, no tables wider than 72 columns, no links.
func (r *Record) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("patchtest run %s", r.ID)
	if u := r.URL(); u != "" {
		w("%s", u)
	}
	w("")
	for _, k := range []KernelResult{r.Baseline, r.Candidate} {
		w("%-9s %s", k.Role+":", kernelDesc(k))
		if k.Run != nil && len(k.Run.Boots) > 0 {
			info := k.Run.Boots[0]
			w("          %s, %s, %d boot(s), %d crash(es), %d hang(s),", info.Agent.Release, caseCount(k.Run.Results), len(k.Run.Boots), k.Run.Crashes, k.Run.Hangs)
			w("          QEMU %s, %s, %s", info.QEMU.Version, info.Accel, info.MachineType)
		}
	}
	if r.Incomplete {
		w("")
		w("INCOMPLETE: the run was interrupted or the harness failed part way;")
		w("the cases it did not reach are listed as not run.")
	}
	if r.TreeBase != nil {
		w("")
		w("Same tree as its own baseline:")
		for _, l := range r.TreeBase.Lines() {
			w("  %s", l)
		}
	}
	if r.Mismatch != nil {
		w("")
		w("NOTE: the kernels differ beyond the patch, so some changes below")
		w("may come from that:")
		for _, l := range r.Mismatch.Lines() {
			w("  %s", l)
		}
	}
	for _, k := range []KernelResult{r.Baseline, r.Candidate} {
		if k.Capabilities == nil || len(k.Capabilities.Limits) == 0 {
			continue
		}
		w("")
		w("What the %s kernel cannot report (from its configuration):", k.Role)
		for _, l := range k.Capabilities.Limits {
			w("  %s", l)
		}
	}
	w("")
	switch {
	case r.Baseline.Run != nil && len(r.Baseline.Run.Results) == 0 && len(r.Changes) == 0:
		w("The correctness suites were not run.")
	case len(r.Changes) == 0:
		w("No observation changed.")
	case r.Verdict == nil:
		w("%d observation(s) changed (no expect.yaml to compare with):", len(r.Changes))
		writeChanges(w, r.Changes)
	default:
		w("%d observation(s) changed; %d declared in expect.yaml, %d not.", len(r.Changes), len(r.Verdict.Expected), len(r.Verdict.Unexpected))
		if len(r.Verdict.Unexpected) > 0 {
			w("")
			w("UNEXPECTED changes:")
			writeChanges(w, r.Verdict.Unexpected)
		}
		if len(r.Verdict.Expected) > 0 {
			w("")
			w("Expected changes:")
			writeChanges(w, r.Verdict.Expected)
		}
		if len(r.Verdict.Unmet) > 0 {
			w("")
			w("Declared in expect.yaml but not seen:")
			for _, x := range r.Verdict.Unmet {
				w("  %s", x.Cases)
				w("      %s -> %s", orAny(x.From), orAny(x.To))
			}
		}
	}
	if n := r.Night; n != nil && n.Morning != nil {
		w("")
		w("Morning report: %s %s at %s (last night %s):", n.Tree, n.Branch, short(n.Commit), orNone(short(n.Previous)))
		for _, l := range n.Morning.Lines() {
			w("  %s", l)
		}
		if cps := n.ChangePoints(); len(cps) > 0 {
			w("  Perf change points tonight (against last night's kernel):")
			for _, t := range cps {
				w("    %s %s: %s, median %s", t.Bench, t.Metric, t.Verdict, human(t.Median))
			}
		}
	}
	if r.PerPatch != nil {
		w("")
		w("Patch by patch (each change attributed to the patch that made it;")
		w("the candidate above is the longest prefix that ran):")
		w("")
		for _, l := range r.PerPatch.Lines() {
			w("%s", l)
		}
	}
	if pl := r.PeerLines(); len(pl) > 0 {
		w("")
		for _, l := range pl {
			w("%s", l)
		}
	}
	if r.Fuzz != nil {
		w("")
		for _, l := range fuzzLines(r.Fuzz) {
			w("%s", l)
		}
	}
	if len(r.NotComparable) > 0 {
		w("")
		w("Not comparable (%d; they fail nothing):", len(r.NotComparable))
		for _, c := range r.NotComparable {
			w("  %s", c.ID)
			w("      %s", c.Why)
		}
	}
	for _, k := range []KernelResult{r.Baseline, r.Candidate} {
		s := k.Summary
		if s.Count() == 0 {
			continue
		}
		w("")
		w("Problems on the %s kernel:", k.Role)
		for _, l := range s.Kernel {
			w("  kernel: %s", l)
		}
		for _, l := range s.Crashes {
			w("  crash: %s", l)
		}
		for _, l := range s.Hangs {
			w("  hang: %s", l)
		}
		for _, l := range s.Invariants {
			w("  invariant failed: %s", l)
		}
		for _, l := range s.Kmsg {
			w("  kernel log: %s", l)
		}
		for _, l := range s.Errors {
			w("  case error: %s", l)
		}
		for _, l := range s.NotRun {
			w("  not run: %s", l)
		}
	}
	if r.Perf != nil {
		w("")
		writePerf(&b, r.Perf)
	}
	w("")
	if r.Failed() {
		w("Verdict: needs a look (unexpected changes or problems above).")
	} else {
		w("Verdict: only expected changes, no invariant failures, no crashes.")
	}
	for _, q := range r.Caveats() {
		w("Caveat: %s.", q)
	}
	return b.String()
}

func writePerf(b *strings.Builder, p *PerfResult) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	b.WriteString(PerfLegend(p.Run, p.Stats))
	w("")
	b.WriteString(PerfTable(p.Changes))
	if t := CopiesTable(Copies(p.Changes), perfClock(p.Run)); t != "" {
		w("")
		b.WriteString(t)
	}
	sig, exp := 0, 0
	for _, c := range p.Changes {
		if c.Significant() {
			sig++
			if c.Expected != "" {
				exp++
			}
		}
	}
	w("")
	w("%d of %d metrics changed significantly (%d declared in expect.yaml).", sig, len(p.Changes), exp)
	if p.Null {
		w("This was a null run (one kernel as A and B): at alpha %.2g about", p.Stats.Alpha)
		w("one metric in %.0f may come out significant by chance; many more", 1/p.Stats.Alpha)
		w("mean this host does not measure well enough to trust a comparison.")
	}
	if p.Suspect != "" {
		w("MEASUREMENT SUSPECT: %s.", p.Suspect)
		w("Something other than the change moved the samples; no improvement")
		w("is claimed (suspect). Run perf again before trusting this comparison.")
	}
	if len(p.Regressions) > 0 {
		w("UNEXPECTED regressions of %.3g%% or more (they fail the run):", p.FailPct)
		for _, c := range p.Regressions {
			w("  %s %s: %+.1f%% (p=%.3f)", c.Bench, c.Metric, c.ChangePct, c.P)
		}
	}
	failing := map[string]bool{}
	for _, c := range p.Regressions {
		failing[c.Bench+" "+c.Metric] = true
	}
	var weak []string
	for _, c := range p.Changes {
		if c.Verdict == PerfRegression && c.Expected == "" && !failing[c.Bench+" "+c.Metric] {
			weak = append(weak, fmt.Sprintf("  %s %s: %+.1f%% (p=%.3f)", c.Bench, c.Metric, c.ChangePct, c.P))
		}
	}
	if len(weak) > 0 {
		w("Undeclared regressions that do not fail the run (below %.3g%%, or", p.FailPct)
		w("not significant once corrected for the number of benchmarks, Holm):")
		for _, l := range weak {
			w("%s", l)
		}
	}
	if p.Error != "" {
		w("The perf run ended early: %s", p.Error)
	}
	// Warnings, each kind once, with the number of metrics it concerns.
	var kinds []string
	count := map[string]int{}
	for _, c := range p.Changes {
		for _, x := range c.Warnings {
			k, _, _ := strings.Cut(x, ":")
			if count[k] == 0 {
				kinds = append(kinds, k)
			}
			count[k]++
		}
	}
	for _, k := range kinds {
		switch k {
		case "noisy":
			w("note: %d metric(s) vary by more than 10%% (±sd%%): the host or the", count[k])
			w("      emulation is noisy; a longer level narrows the intervals.")
		case "batched":
			w("note: %d metric(s) have samples that cluster by worker batch: their p", count[k])
			w("      counts the batches' design effect (design_effect in run.json).")
		case "idle":
			w("note: %d wall-time metric(s) of guests that idled under the instruction", count[k])
			w("      clock get no verdict (~ (idle)): the time jumps to the next timer;")
			w("      the CPU per byte is the measure of those benchmarks.")
		case "adaptive":
			w("note: %d metric(s) were measured again while undecided (adaptive", count[k])
			w("      sampling, extended in run.json): their p is multiplied by the looks.")
		default:
			w("note: %s (%d metric(s))", k, count[k])
		}
	}
}

func writeChanges(w func(string, ...any), cs []Change) {
	for _, c := range cs {
		w("  %s", c.ID)
		w("      %s -> %s", c.From, c.To)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none: the first night"
	}
	return s
}

func orAny(s string) string {
	if s == "" {
		return "(any)"
	}
	return s
}

func kernelDesc(k KernelResult) string {
	switch {
	case k.Build != nil && len(k.Build.Patches) > 0:
		return fmt.Sprintf("%s + %d patch(es) from %s", k.Build.Source, len(k.Build.Patches), k.Build.Series)
	case k.Build != nil:
		return k.Build.Source + ", " + k.Build.Base + "+" + strings.Join(k.Build.Fragments, "+")
	}
	return k.BzImage
}

// Caveats say what weakens the verdict: a candidate that cannot report
// some of its faults, kernels that differ beyond the patch, a run that
// did not finish.
func (r *Record) Caveats() []string {
	var out []string
	if r.Incomplete {
		out = append(out, "the run is incomplete")
	}
	if c := r.Candidate.Capabilities; c != nil && len(c.Limits) > 0 {
		out = append(out, fmt.Sprintf("the candidate cannot report everything (%d limit(s) above)", len(c.Limits)))
	}
	if r.Mismatch != nil {
		out = append(out, "the kernels differ beyond the patch (see the note above)")
	}
	return out
}

// perfClock is what the perf run's guest time counted.
func perfClock(run *runs.Perf) string {
	if run == nil || len(run.Boots) == 0 {
		return ""
	}
	return run.Boots[0].Clock
}
