package results

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/patchtest/patchtest/suites"
)

// PeerPrefix starts the IDs of the peer suites' cases and subtests.
const PeerPrefix = "peer/"

// PeerCase sums up one peer case (peer/kselftest/mm.cow) on both kernels.
type PeerCase struct {
	ID string
	// Baseline and Candidate are the case's own outcome on each kernel
	// and how many of its subtests came out each way.
	Baseline, Candidate PeerSide
	// Changed counts its subtests (and itself) among the run's changes.
	Changed int
}

// PeerSide is a peer case on one kernel.
type PeerSide struct {
	Outcome string
	Counts  map[string]int
	Ran     bool
}

// Tally renders the subtest counts: "9 ok, 24 skip".
func (s PeerSide) Tally() string {
	if !s.Ran {
		return "did not run"
	}
	if len(s.Counts) == 0 {
		return "no subtests"
	}
	var keys []string
	for k := range s.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", s.Counts[k], k))
	}
	return strings.Join(parts, ", ")
}

// peerCaseOf is the peer case an ID belongs to (its first three parts),
// "" for a catalogue case.
func peerCaseOf(id string) string {
	if !strings.HasPrefix(id, PeerPrefix) {
		return ""
	}
	parts := strings.SplitN(id, "/", 4)
	if len(parts) < 3 {
		return ""
	}
	return strings.Join(parts[:3], "/")
}

// subOutcome is a subtest's outcome in a word: ok, not ok, skip, xfail,
// or what went wrong.
func subOutcome(r suites.CaseResult) string {
	switch {
	case r.NotRun != "":
		return "not run"
	case r.Obs == nil:
		return "error"
	case r.Obs.Type == suites.TSkip:
		return "skip"
	case r.Obs.Type == suites.TOutcome && strings.HasPrefix(r.Obs.Value, "not ok"):
		return "not ok"
	}
	return r.Obs.Value
}

// caseCount says how many cases ran, peer subtests apart: "13 cases
// and 52 peer subtests".
func caseCount(rs []suites.CaseResult) string {
	subs := 0
	for _, r := range rs {
		if pc := peerCaseOf(r.ID); pc != "" && pc != r.ID {
			subs++
		}
	}
	if subs == 0 {
		return fmt.Sprintf("%d cases", len(rs))
	}
	return fmt.Sprintf("%d cases and %d peer subtests", len(rs)-subs, subs)
}

// Peers sums up the run's peer cases, in the order they ran.
func (r *Record) Peers() []PeerCase {
	var out []PeerCase
	at := map[string]int{}
	side := func(k *KernelResult, cand bool) {
		if k.Run == nil {
			return
		}
		for _, res := range k.Run.Results {
			pc := peerCaseOf(res.ID)
			if pc == "" {
				continue
			}
			i, ok := at[pc]
			if !ok {
				i = len(out)
				at[pc] = i
				out = append(out, PeerCase{ID: pc})
			}
			s := &out[i].Baseline
			if cand {
				s = &out[i].Candidate
			}
			if res.ID == pc {
				s.Outcome, s.Ran = CaseOutcome(res), true
				continue
			}
			if s.Counts == nil {
				s.Counts = map[string]int{}
			}
			s.Counts[subOutcome(res)]++
		}
	}
	side(&r.Baseline, false)
	side(&r.Candidate, true)
	for _, c := range r.Changes {
		if i, ok := at[peerCaseOf(c.ID)]; ok {
			out[i].Changed++
		}
	}
	return out
}

// PeerRow is one peer subtest on both kernels.
type PeerRow struct {
	ID                  string
	Baseline, Candidate string
}

// PeerFocus lists the peer subtests whose names mention vmsplice (mm/cow's
// vmsplice cases, stress-ng's vm-splice), on both kernels: what the
// reference series was reported to break.
func (r *Record) PeerFocus() []PeerRow {
	idx := func(k *KernelResult) map[string]suites.CaseResult {
		if k.Run == nil {
			return nil
		}
		return index(k.Run.Results)
	}
	b, c := idx(&r.Baseline), idx(&r.Candidate)
	var ids []string
	seen := map[string]bool{}
	for _, m := range []map[string]suites.CaseResult{b, c} {
		for id := range m {
			if pc := peerCaseOf(id); pc != "" && id != pc && !seen[id] && (strings.Contains(id, "vmsplice") || strings.Contains(id, "vm-splice")) {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	var out []PeerRow
	for _, id := range ids {
		row := PeerRow{ID: id, Baseline: "missing", Candidate: "missing"}
		if x, ok := b[id]; ok {
			row.Baseline = CaseOutcome(x)
		}
		if x, ok := c[id]; ok {
			row.Candidate = CaseOutcome(x)
		}
		out = append(out, row)
	}
	return out
}

// PeerFigure is one metric of a peer case (a stress-ng stressor) on both
// kernels, beside the change patchtest's nearest benchmark measured.
type PeerFigure struct {
	// Suite is the peer suite; Case the case's ID's last element.
	Suite, Case, Metric string
	Baseline, Candidate float64
	ChangePct           float64
	// Bench is patchtest's nearest benchmark; BenchChange its B/s
	// change ("-12.3 %, p=0.001, regression"), empty without a perf run.
	Bench, BenchChange string
}

// PeerFigures compares the metrics of the peer suites that have figures
// (stress-ng's stressors) between the kernels, in the suites' and their
// cases' order. They are one run per kernel, in the suites' guests (not
// the benchmarks' statistics): a rough figure beside the benchmarks.
func (r *Record) PeerFigures() []PeerFigure {
	metrics := func(k *KernelResult) map[string]map[string]float64 {
		out := map[string]map[string]float64{}
		if k.Run == nil {
			return out
		}
		for _, res := range k.Run.Results {
			if res.Metrics != nil {
				out[res.ID] = res.Metrics
			}
		}
		return out
	}
	b, c := metrics(&r.Baseline), metrics(&r.Candidate)
	var out []PeerFigure
	for _, p := range suites.Peers() {
		if p.Figures == nil {
			continue
		}
		for _, cs := range p.Cases() {
			bm, cm := b[cs.ID], c[cs.ID]
			if bm == nil || cm == nil {
				continue
			}
			name := strings.TrimPrefix(cs.ID, p.Prefix())
			var keys []string
			for k := range bm {
				if _, ok := cm[k]; ok && p.Figures(k) {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				row := PeerFigure{Suite: p.Name, Case: name, Metric: k, Baseline: bm[k], Candidate: cm[k], Bench: p.Related[name]}
				if bm[k] != 0 {
					row.ChangePct = 100 * (cm[k] - bm[k]) / bm[k]
				}
				if r.Perf != nil {
					for _, pc := range r.Perf.Changes {
						if pc.Bench == row.Bench && pc.Metric == "B/s" {
							row.BenchChange = fmt.Sprintf("%+.1f %%, p=%.3f, %s", pc.ChangePct, pc.P, pc.Verdict)
						}
					}
				}
				out = append(out, row)
			}
		}
	}
	return out
}

// FiguresClock says what the peer figures' guest time counted.
func (r *Record) FiguresClock() string {
	for _, k := range []KernelResult{r.Baseline, r.Candidate} {
		if k.Run == nil {
			continue
		}
		for _, b := range k.Run.Boots {
			if b.Counted() {
				return "guest time counts instructions"
			}
		}
	}
	return "real time: rough under emulation"
}

// PeerAbout says what a peer suite's figures are ("one 1s run per
// kernel").
func PeerAbout(suite string) string {
	p, _ := suites.LookupPeer(suite)
	return p.About
}

// PeerLines renders the peer suites for the reports: each peer case on
// both kernels, the vmsplice subtests, and stress-ng's figures.
func (r *Record) PeerLines() []string {
	peers := r.Peers()
	if len(peers) == 0 {
		return nil
	}
	var l []string
	add := func(format string, a ...any) { l = append(l, fmt.Sprintf(format, a...)) }
	add("Peer suites (the same programs on both kernels; each subtest is a case):")
	for _, p := range peers {
		add("  %s: %d change(s)", p.ID, p.Changed)
		add("      baseline:  %s; %s", orNone(p.Baseline.Outcome), p.Baseline.Tally())
		add("      candidate: %s; %s", orNone(p.Candidate.Outcome), p.Candidate.Tally())
	}
	if rows := r.PeerFocus(); len(rows) > 0 {
		add("")
		add("Their vmsplice subtests (baseline -> candidate):")
		for _, row := range rows {
			add("  %s", strings.TrimPrefix(row.ID, PeerPrefix))
			add("      %s -> %s", row.Baseline, row.Candidate)
		}
	}
	suite, last := "", ""
	for _, row := range r.PeerFigures() {
		if row.Suite != suite {
			suite, last = row.Suite, ""
			add("")
			add("%s, %s (%s; no statistics:", row.Suite, PeerAbout(row.Suite), r.FiguresClock())
			add("what %s sees, beside the benchmarks' measurement):", row.Suite)
		}
		if row.Case != last {
			last = row.Case
			add("  %s:", row.Case)
			if row.BenchChange != "" {
				add("      vs %s B/s: %s", row.Bench, row.BenchChange)
			}
		}
		add("      %s: %.4g -> %.4g (%+.1f %%)", row.Metric, row.Baseline, row.Candidate, row.ChangePct)
	}
	return l
}
