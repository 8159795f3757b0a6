package results

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

// Column statuses of a series run patch by patch.
const (
	PatchOK          = "ok"           // built, booted, the catalogue ran
	PatchNoApply     = "apply-failed" // the patch does not apply on the ones before it
	PatchNoBuild     = "build-failed" // the kernel up to this patch does not build
	PatchNoBoot      = "boot-failed"  // it built but did not boot
	PatchNotRun      = "not-run"      // an earlier patch failed
	fateKept         = "kept"
	fateRevertedBy   = "reverted by"
	fateAlteredBy    = "altered by"
	matrixNotRunCell = "-"
)

// PatchColumn is one prefix of a series run patch by patch: the base with
// the series' patches 1 to Index applied.
type PatchColumn struct {
	Index   int    `json:"index"`
	Total   int    `json:"total"`
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Status  string `json:"status"`
	// Reason says why a column is not ok.
	Reason string      `json:"reason,omitempty"`
	Build  *runs.Build `json:"build,omitempty"`
	// Warnings are compiler warnings in the files the patch touches that
	// the base's build did not print.
	Warnings []string        `json:"warnings,omitempty"`
	Run      *runs.Suite     `json:"run,omitempty"`
	Summary  ProblemsSummary `json:"summary"`
	// Introduced are the observations that changed from the column
	// before (the base for the first patch): what this patch did.
	Introduced []Change `json:"introduced,omitempty"`
	// Perf compares this column's kernel with the one before it (with
	// --perf): what this patch costs.
	Perf *PerfResult `json:"perf,omitempty"`
}

// Label names the column as a reply to the series would: [PATCH 2/3].
func (c PatchColumn) Label() string { return fmt.Sprintf("[PATCH %d/%d]", c.Index, c.Total) }

// tagRe matches a subject's leading tags: [PATCH v2 2/3], [RFC].
var tagRe = regexp.MustCompile(`^(\[[^\]]*\]\s*)+`)

// Title is the patch's subject without its leading tags, which Label
// gives.
func (c PatchColumn) Title() string { return tagRe.ReplaceAllString(c.Subject, "") }

// Ran reports whether the catalogue ran on the column's kernel.
func (c PatchColumn) Ran() bool { return c.Status == PatchOK && c.Run != nil }

// MatrixRow is one case that changed somewhere along the series: its
// outcome on the base and after each patch, the patch that first changed
// it, and what later patches did to that change.
type MatrixRow struct {
	ID   string   `json:"id"`
	Base string   `json:"base"`
	Cols []string `json:"cols"`
	// By is the index of the patch that first changed the case.
	By int `json:"by"`
	// Fate is kept, "reverted by N" (a later patch restored the base's
	// outcome) or "altered by N" (a later patch changed it again).
	Fate string `json:"fate"`
}

// PerPatch is a series run patch by patch.
type PerPatch struct {
	Columns []PatchColumn `json:"columns"`
	Matrix  []MatrixRow   `json:"matrix"`
}

// BuildMatrix fills p.Matrix from the base's results and the columns'.
func (p *PerPatch) BuildMatrix(base []suites.CaseResult) {
	p.Matrix = nil
	byCol := make([]map[string]suites.CaseResult, len(p.Columns))
	for i, c := range p.Columns {
		if c.Ran() {
			byCol[i] = index(c.Run.Results)
		}
	}
	for _, b := range base {
		row := MatrixRow{ID: b.ID, Base: CaseOutcome(b)}
		prev := row.Base
		for i := range p.Columns {
			r, ok := byCol[i][b.ID]
			switch {
			case byCol[i] == nil || !ok:
				row.Cols = append(row.Cols, matrixNotRunCell)
				continue
			case incomparable(b, r) != "":
				row.Cols = append(row.Cols, CaseOutcome(r))
				continue
			}
			v := CaseOutcome(r)
			row.Cols = append(row.Cols, v)
			if v == prev {
				continue
			}
			switch {
			case row.By == 0:
				row.By, row.Fate = i+1, fateKept
			case v == row.Base:
				row.Fate = fmt.Sprintf("%s %d", fateRevertedBy, i+1)
			default:
				row.Fate = fmt.Sprintf("%s %d", fateAlteredBy, i+1)
			}
			prev = v
		}
		if row.By > 0 {
			p.Matrix = append(p.Matrix, row)
		}
	}
	sort.SliceStable(p.Matrix, func(i, j int) bool {
		if p.Matrix[i].By != p.Matrix[j].By {
			return p.Matrix[i].By < p.Matrix[j].By
		}
		return p.Matrix[i].ID < p.Matrix[j].ID
	})
}

// Attributed returns the cases whose change the patch at index (1-based)
// introduced.
func (p *PerPatch) Attributed(index int) []MatrixRow {
	var out []MatrixRow
	for _, r := range p.Matrix {
		if r.By == index {
			out = append(out, r)
		}
	}
	return out
}

// Failed reports whether a patch broke the series: it did not apply,
// build or boot, or its kernel crashed, hung or broke an invariant.
func (p *PerPatch) Failed() bool {
	for _, c := range p.Columns {
		if c.Status != PatchOK && c.Status != PatchNotRun || c.Summary.Findings() {
			return true
		}
		if p := c.Perf; p != nil && (len(p.Regressions) > 0 || p.CandidateFault) {
			return true
		}
	}
	return false
}

// Lines renders the per-patch account for report.md: one paragraph per
// patch, as replies to the series would read ("[PATCH 2/3] subject:
// changes these observations"), within 72 columns where the IDs allow.
func (p *PerPatch) Lines() []string {
	var out []string
	for _, c := range p.Columns {
		out = append(out, fmt.Sprintf("%s %s", c.Label(), c.Title()))
		switch {
		case c.Status == PatchNotRun:
			out = append(out, "  not run: "+c.Reason)
		case c.Status != PatchOK:
			out = append(out, "  "+strings.ToUpper(strings.ReplaceAll(c.Status, "-", " "))+": "+c.Reason)
		default:
			rows := p.Attributed(c.Index)
			if len(rows) == 0 {
				out = append(out, "  changes no observation")
			} else {
				out = append(out, fmt.Sprintf("  changes these %d observation(s):", len(rows)))
				for _, r := range rows {
					line := fmt.Sprintf("    %s: %s -> %s", r.ID, r.Base, r.Cols[c.Index-1])
					if r.Fate != fateKept {
						line += " (" + r.Fate + ")"
					}
					out = append(out, line)
				}
			}
			s := c.Summary
			for _, group := range [][]string{s.Invariants, s.Crashes, s.Hangs, s.Kmsg, s.Kernel} {
				for _, f := range group {
					out = append(out, "  PROBLEM: "+f)
				}
			}
		}
		for _, w := range c.Warnings {
			out = append(out, "  new compiler warning: "+w)
		}
		if pr := c.Perf; pr != nil {
			n := 0
			for _, ch := range pr.Changes {
				if !ch.Significant() {
					continue
				}
				n++
				tag := ch.Verdict
				if ch.Expected != "" {
					tag += ", declared"
				}
				out = append(out, fmt.Sprintf("  perf: %s %s %+.1f%% (%s)", ch.Bench, ch.Metric, ch.ChangePct, tag))
			}
			if n == 0 {
				out = append(out, "  perf: no significant change against the kernel before it")
			}
			if pr.Error != "" {
				out = append(out, "  perf: "+pr.Error)
			}
		}
		out = append(out, "")
	}
	if len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out
}
