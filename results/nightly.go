package results

import (
	"fmt"
	"sort"
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
	// Previous is the last night's commit of the same tree, branch and
	// config; empty on the first night.
	Previous string `json:"previous,omitempty"`
	// Flaky are the cases whose re-runs tonight disagreed.
	Flaky   []string `json:"flaky,omitempty"`
	Morning *Morning `json:"morning,omitempty"`
	// Trend is each benchmark's primary metric night by night, tonight
	// last (with --perf).
	Trend []TrendPoint `json:"trend,omitempty"`
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
}

// Anything reports whether the morning has news: a change new since last
// night.
func (m *Morning) Anything() bool { return m != nil && len(m.New) > 0 }

func window(a, b string) string { return short(a) + ".." + short(b) }

// BuildMorning compares tonight with the nights before it (oldest first,
// tonight not among them). ref is the outcome each case should have: the
// pinned reference kernel's, or the first night's when there is none.
// flaky cases are reported apart, never as new.
func BuildMorning(nights []NightOutcomes, tonight NightOutcomes, ref map[string]string, flaky map[string]bool) *Morning {
	m := &Morning{}
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
			m.New = append(m.New, NightChange{ID: id, From: last, To: cur, Since: tonight.RunID, Window: window(prev.Commit, tonight.Commit)})
		case prev != nil && last != "" && last != cur && cur == want:
			m.Fixed = append(m.Fixed, NightChange{ID: id, From: last, To: cur, Since: tonight.RunID, Window: window(prev.Commit, tonight.Commit)})
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
		}
	}
	section("NEW since last night", m.New)
	section("Still present", m.Present)
	section("Fixed tonight", m.Fixed)
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
