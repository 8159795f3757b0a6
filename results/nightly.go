package results

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/patchtest/patchtest/suites/perf"
)

// Night records a nightly run of a moving tree: which tree, branch and
// configuration, the commit built, and the morning report made from the
// nights before it.
type Night struct {
	Tree   string `json:"tree"`
	Branch string `json:"branch"`
	// Config identifies the kernel configuration (base and fragments).
	Config string `json:"config"`
	Commit string `json:"commit"`
	// Subject is the commit's subject line, as git gives it.
	Subject string `json:"subject,omitempty"`
	// Previous is the last night's commit of the same tree, branch and
	// config; empty on the first night.
	Previous string `json:"previous,omitempty"`
	// Flaky are the cases called flaky tonight, on evidence: runs that
	// each produced an outcome and disagreed, or a change with no commit
	// in the case's area since last night.
	Flaky []string `json:"flaky,omitempty"`
	// Reruns are tonight's changes run again before they were called:
	// each run's outcome and the verdict.
	Reruns []Rerun `json:"reruns,omitempty"`
	// RerunError is the harness's failure that kept a re-run from
	// running (its first line); the changes it left unchecked are not
	// confirmed, never flaky.
	RerunError string   `json:"rerun_error,omitempty"`
	Morning    *Morning `json:"morning,omitempty"`
	// Trend is each benchmark's primary metric night by night, tonight
	// last (with --perf).
	Trend []TrendPoint `json:"trend,omitempty"`
}

// Verdicts of a re-run.
const (
	// RerunConfirmed: every re-run produced tonight's outcome.
	RerunConfirmed = "confirmed"
	// RerunFlaky: two runs produced outcomes and they disagree, or the
	// case changed with no commit in its area.
	RerunFlaky = "flaky"
	// RerunNotConfirmed: a re-run could not run (the harness failed, or
	// the case got no outcome) and those that ran agreed.
	RerunNotConfirmed = "not confirmed"
)

// Rerun is one of tonight's changes run again before it is called.
type Rerun struct {
	ID string `json:"id"`
	// Outcomes are the case's outcome in tonight's run, then in each
	// re-run that produced one.
	Outcomes []string `json:"outcomes"`
	Verdict  string   `json:"verdict"`
	// Why is the evidence of a flaky case, or why a re-run could not
	// run for one not confirmed.
	Why string `json:"why,omitempty"`
}

// JudgeRerun calls a case from its outcomes (tonight's first, then each
// re-run's that produced one) and why a re-run produced none ("" when
// every one did): flaky only when two outcomes disagree; else not
// confirmed when a re-run could not run; else confirmed.
func JudgeRerun(id string, outcomes []string, couldNot string) Rerun {
	r := Rerun{ID: id, Outcomes: outcomes, Verdict: RerunConfirmed}
	for _, o := range outcomes[1:] {
		if o != outcomes[0] {
			r.Verdict, r.Why = RerunFlaky, "runs disagree: "+strings.Join(outcomes, ", ")
			return r
		}
	}
	if couldNot != "" {
		r.Verdict, r.Why = RerunNotConfirmed, "the re-run could not run ("+couldNot+")"
	}
	return r
}

// TrendPoint is one night's median of a benchmark metric on its head,
// and the verdict of that night's comparison with the night before: a
// called change is a change point.
type TrendPoint struct {
	RunID   string  `json:"run_id"`
	Commit  string  `json:"commit"`
	Bench   string  `json:"bench"`
	Metric  string  `json:"metric"`
	Median  float64 `json:"median"`
	Verdict string  `json:"verdict"`
}

// TrendOf returns the primary metric of each benchmark of p as tonight's
// trend points.
func TrendOf(runID, commit string, p *PerfResult) []TrendPoint {
	if p == nil {
		return nil
	}
	var out []TrendPoint
	for _, c := range p.Changes {
		if b, ok := perf.Lookup(c.Bench); ok && b.Metrics[0] == c.Metric && c.New.N > 0 {
			out = append(out, TrendPoint{RunID: runID, Commit: commit, Bench: c.Bench, Metric: c.Metric, Median: c.New.Median, Verdict: c.Verdict})
		}
	}
	return out
}

// ChangePoints returns tonight's trend points whose comparison with last
// night was called a change.
func (n *Night) ChangePoints() []TrendPoint {
	var out []TrendPoint
	for _, t := range n.Trend {
		if t.Commit == n.Commit && (t.Verdict == PerfRegression || t.Verdict == PerfImprovement) {
			out = append(out, t)
		}
	}
	return out
}

// NightOutcomes is one night as the index keeps it: its run, commit and
// the candidate's outcome per case.
type NightOutcomes struct {
	RunID    string
	Started  time.Time
	Commit   string
	Outcomes map[string]string
}

// NightChange is one case in a morning report: its outcome against the
// reference, and the commit window where it changed (last good..first
// bad, as the KernelCI regression tracker records it).
type NightChange struct {
	ID   string `json:"id"`
	From string `json:"from"`
	To   string `json:"to"`
	// Since is the run of the first night that showed it; Window the
	// commits between the night before that and that night.
	Since  string `json:"since"`
	Window string `json:"window"`
	// Unconfirmed says why tonight's re-run could not confirm the
	// change; it is reported all the same.
	Unconfirmed string `json:"unconfirmed,omitempty"`
}

// Morning is what a night says against the nights before it: changes new
// since last night, changes still present (with when they were first
// seen), changes fixed tonight, and cases that flipped without reason.
type Morning struct {
	New     []NightChange `json:"new,omitempty"`
	Present []NightChange `json:"present,omitempty"`
	Fixed   []NightChange `json:"fixed,omitempty"`
	// Flaky are cases known to flip: re-runs disagreed on some night.
	Flaky []string `json:"flaky,omitempty"`
	// FlakyTonight are the cases called flaky tonight, with each run's
	// outcome.
	FlakyTonight []Rerun `json:"flaky_tonight,omitempty"`
	// NotConfirmed says why tonight's re-runs could not run, when they
	// could not.
	NotConfirmed string `json:"not_confirmed,omitempty"`
}

// Anything reports whether the morning has news: a change new since last
// night, confirmed or not.
func (m *Morning) Anything() bool { return m != nil && len(m.New) > 0 }

// Unconfirmed reports whether a re-run could not run tonight: the
// night's findings stand, but the harness failed part way.
func (m *Morning) Unconfirmed() bool { return m != nil && m.NotConfirmed != "" }

func window(a, b string) string { return short(a) + ".." + short(b) }

// BuildMorning compares tonight with the nights before it (oldest first,
// tonight not among them). ref is the outcome each case should have: the
// pinned reference kernel's, or the first night's when there is none.
// flaky cases are reported apart, never as new. reruns are tonight's
// re-runs: a change they could not confirm is marked so, and those
// called flaky tonight are listed with each run's outcome.
func BuildMorning(nights []NightOutcomes, tonight NightOutcomes, ref map[string]string, flaky map[string]bool, reruns []Rerun) *Morning {
	m := &Morning{}
	unconfirmed := map[string]string{}
	for _, r := range reruns {
		switch r.Verdict {
		case RerunNotConfirmed:
			unconfirmed[r.ID] = "not confirmed: " + r.Why
			if m.NotConfirmed == "" {
				m.NotConfirmed = r.Why
			}
		case RerunFlaky:
			m.FlakyTonight = append(m.FlakyTonight, r)
		}
	}
	all := append(append([]NightOutcomes{}, nights...), tonight)
	if ref == nil && len(all) > 0 {
		ref = all[0].Outcomes
	}
	var ids []string
	for id := range tonight.Outcomes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var prev *NightOutcomes
	if len(nights) > 0 {
		prev = &nights[len(nights)-1]
	}
	for _, id := range ids {
		cur, want := tonight.Outcomes[id], ref[id]
		if flaky[id] {
			continue
		}
		last := ""
		if prev != nil {
			last = prev.Outcomes[id]
		}
		switch {
		case prev != nil && last != "" && last != cur && cur != want:
			m.New = append(m.New, NightChange{ID: id, From: last, To: cur, Since: tonight.RunID, Window: window(prev.Commit, tonight.Commit), Unconfirmed: unconfirmed[id]})
		case prev != nil && last != "" && last != cur && cur == want:
			m.Fixed = append(m.Fixed, NightChange{ID: id, From: last, To: cur, Since: tonight.RunID, Window: window(prev.Commit, tonight.Commit), Unconfirmed: unconfirmed[id]})
		case want != "" && cur != want:
			// Still present: walk back to the first night with tonight's
			// outcome in an unbroken run of them.
			first := len(all) - 1
			for first > 0 && all[first-1].Outcomes[id] == cur {
				first--
			}
			c := NightChange{ID: id, From: want, To: cur, Since: all[first].RunID}
			if first > 0 {
				c.Window = window(all[first-1].Commit, all[first].Commit)
			} else {
				c.Window = "before " + short(all[0].Commit) + " (the first night)"
			}
			m.Present = append(m.Present, c)
		}
	}
	for id := range flaky {
		m.Flaky = append(m.Flaky, id)
	}
	sort.Strings(m.Flaky)
	return m
}

// Lines renders the morning report.
func (m *Morning) Lines() []string {
	var out []string
	section := func(title string, cs []NightChange) {
		if len(cs) == 0 {
			return
		}
		out = append(out, fmt.Sprintf("%s (%d):", title, len(cs)))
		for _, c := range cs {
			out = append(out, fmt.Sprintf("  %s: %s -> %s", c.ID, c.From, c.To))
			out = append(out, fmt.Sprintf("      since %s, window %s", c.Since, c.Window))
			if c.Unconfirmed != "" {
				out = append(out, "      "+c.Unconfirmed)
			}
		}
	}
	if m.NotConfirmed != "" {
		out = append(out, "HARNESS: "+m.NotConfirmed+"; the changes it was to confirm are reported as found, marked not confirmed.")
	}
	section("NEW since last night", m.New)
	section("Still present", m.Present)
	section("Fixed tonight", m.Fixed)
	if len(m.FlakyTonight) > 0 {
		out = append(out, fmt.Sprintf("Flaky tonight (%d):", len(m.FlakyTonight)))
		for _, r := range m.FlakyTonight {
			out = append(out, fmt.Sprintf("  %s: %s", r.ID, r.Why))
		}
	}
	if len(m.Flaky) > 0 {
		out = append(out, fmt.Sprintf("Known flaky, reported apart (%d):", len(m.Flaky)))
		for _, id := range m.Flaky {
			out = append(out, "  "+id)
		}
	}
	if len(out) == 0 {
		out = append(out, "Nothing new, nothing present, nothing fixed.")
	}
	return out
}
