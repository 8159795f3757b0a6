package results

import (
	"fmt"
	"regexp"
	"strings"
)

// B4Lines renders a run for b4's per-patch check command (b4 am --check
// with am-perpatch-check-cmd, b4 prep --check with
// prep-perpatch-check-cmd): one line per finding, "ERROR:" for what
// fails the patch (a crash, hang, broken invariant or kernel warning, a
// series that does not apply, build or boot, an unexpected change when
// expect.yaml declares the series' changes, a perf regression),
// "WARNING:" for changes nobody declared, and no line at all when nothing
// was found. That is b4's contract (its run_local_check): every line on
// stdout is a warning unless it contains "ERROR:", then a failure, and
// only a command that prints nothing has "passed all checks". b4 puts the
// command's name before each line, so the lines do not repeat it.
func (r *Record) B4Lines() []string {
	var out []string
	add := func(level, format string, a ...any) {
		out = append(out, level+": "+oneLine(fmt.Sprintf(format, a...)))
	}
	if p := r.PerPatch; p != nil {
		for _, c := range p.Columns {
			if c.Status != PatchOK && c.Status != PatchNotRun {
				add("ERROR", "%s %s: %s", c.Label(), strings.ReplaceAll(c.Status, "-", " "), c.Reason)
			}
			for _, w := range c.Warnings {
				add("WARNING", "%s new compiler warning: %s", c.Label(), w)
			}
		}
	}
	s := r.Candidate.Summary
	for _, group := range []struct {
		what  string
		lines []string
	}{{"kernel", s.Kernel}, {"crash", s.Crashes}, {"hang", s.Hangs}, {"invariant failed", s.Invariants}, {"kernel log", s.Kmsg}} {
		for _, l := range group.lines {
			add("ERROR", "%s: %s", group.what, l)
		}
	}
	switch {
	case r.Verdict != nil:
		for _, c := range r.Verdict.Unexpected {
			add("ERROR", "unexpected change %s", c)
		}
		for _, x := range r.Verdict.Unmet {
			add("ERROR", "declared in expect.yaml but not seen: %s -> %s", x.Cases, orAny(x.To))
		}
	default:
		for _, c := range r.Changes {
			add("WARNING", "changed %s", c)
		}
	}
	if p := r.Perf; p != nil {
		for _, c := range p.Regressions {
			add("ERROR", "perf regression %s %s %+.1f%% (p=%.2g)", c.Bench, c.Metric, c.ChangePct, c.P)
		}
		if p.CandidateFault {
			add("ERROR", "perf: the kernel failed under a benchmark: %s", p.Error)
		}
	}
	return out
}

// PatchworkCheck is a check as Patchwork's REST API takes it (POST
// /api/patches/ID/checks/): state, context, description, target_url.
type PatchworkCheck struct {
	// Patch names the patch the check is for: its file or message, and
	// subject (for the bot that posts it; Patchwork ignores it).
	Patch       string `json:"patch,omitempty"`
	State       string `json:"state"`
	Context     string `json:"context"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url,omitempty"`
}

// Patchwork check states.
const (
	CheckSuccess = "success"
	CheckWarning = "warning"
	CheckFail    = "fail"
)

// patchworkContext is the check's context: a slug, as Patchwork wants.
const patchworkContext = "patchtest"

var slugRe = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// PatchworkChecks returns the checks for a bot to post: one per patch of
// a series run patch by patch, else one for the run's candidate.
// targetURL is where the run's report is published (may be empty).
func (r *Record) PatchworkChecks(targetURL string) []PatchworkCheck {
	if p := r.PerPatch; p != nil {
		var out []PatchworkCheck
		for _, c := range p.Columns {
			ch := PatchworkCheck{Patch: c.Label() + " " + c.Title(), Context: patchworkContext, TargetURL: targetURL}
			rows := p.Attributed(c.Index)
			switch {
			case c.Status == PatchNotRun:
				ch.State, ch.Description = CheckWarning, "not run: "+c.Reason
			case c.Status != PatchOK:
				ch.State, ch.Description = CheckFail, c.Status+": "+c.Reason
			case c.Summary.Findings():
				ch.State, ch.Description = CheckFail, "the kernel misbehaved: "+firstProblem(c.Summary)
			case len(rows) > 0 || len(c.Warnings) > 0:
				ch.State, ch.Description = CheckWarning, fmt.Sprintf("changes %d observation(s), %d new compiler warning(s)", len(rows), len(c.Warnings))
			default:
				ch.State, ch.Description = CheckSuccess, "changes no observation"
			}
			ch.Description = clip(ch.Description)
			out = append(out, ch)
		}
		return out
	}
	ch := PatchworkCheck{Context: patchworkContext, TargetURL: targetURL, State: CheckSuccess, Description: "only expected changes, no kernel problems"}
	if r.Failed() {
		ch.State, ch.Description = CheckFail, firstB4(r.B4Lines())
	} else if r.Verdict == nil && len(r.Changes) > 0 {
		ch.State, ch.Description = CheckWarning, fmt.Sprintf("%d observation(s) changed, none declared", len(r.Changes))
	}
	ch.Description = clip(ch.Description)
	return []PatchworkCheck{ch}
}

func firstProblem(s ProblemsSummary) string {
	for _, g := range [][]string{s.Crashes, s.Hangs, s.Invariants, s.Kernel, s.Kmsg} {
		if len(g) > 0 {
			return g[0]
		}
	}
	return ""
}

// firstB4 is the first failure among b4's lines, else the first line.
func firstB4(lines []string) string {
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "ERROR: "); ok {
			return rest
		}
	}
	if len(lines) == 0 {
		return "the run failed"
	}
	return lines[0]
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip keeps a description to one line of at most 255 characters.
func clip(s string) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > 255 {
		s = string(r[:254]) + "…"
	}
	return s
}
