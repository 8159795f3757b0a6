package results

import (
	"fmt"
	"strings"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

// Finishing a run: what its two kernels' results, its fuzzing and its
// perf samples say. run, per-patch, a shard merge and a night all finish
// their records here, so that one set of results gives one verdict
// whichever way it was produced.

// Finish computes r's changes (the cases' and the fuzzer's), the cases
// that cannot be compared, the perf comparison (see PerfResult.Analyse)
// and, when x is not nil, the verdict against it. The verdict is left
// nil for a run that compared nothing it could check (the suites skipped,
// no fuzzing): an expect.yaml says nothing about such a run.
func (r *Record) Finish(x *Expect) {
	base, cand := r.Baseline.suiteResults(), r.Candidate.suiteResults()
	r.Changes = Diff(base, cand)
	if r.Fuzz != nil {
		r.Changes = append(r.Changes, fuzzChanges(r.Fuzz)...)
	}
	r.NotComparable = NotComparable(base, cand)
	if r.Perf != nil {
		r.Perf.Analyse(x)
	}
	r.Verdict = nil
	if x != nil && (len(base)+len(cand) > 0 || r.Fuzz != nil) {
		v := x.Check(r.Changes, Compared(base, cand))
		r.Verdict = &v
	}
}

func (k *KernelResult) suiteResults() []suites.CaseResult {
	if k.Run == nil {
		return nil
	}
	return k.Run.Results
}

// Analyse compares p's samples afresh: the changes, whether the
// measurement itself is suspect, which changes x declares (nil: none),
// the regressions that fail the run and the copies per byte. A perf run
// that the harness could not complete keeps its changes only: it claims
// nothing.
func (p *PerfResult) Analyse(x *Expect) {
	if p.Run == nil {
		return
	}
	p.Changes = ComparePerf(p.Run, p.Stats)
	p.Suspect, p.Regressions, p.Copies = "", nil, nil
	if p.harnessFailed() {
		return
	}
	p.Suspect = Suspect(p.Changes)
	if x != nil {
		MarkExpected(p.Changes, x.Perf)
	}
	p.Regressions = PerfRegressions(p.Changes, p.FailPct)
	p.Copies = Copies(p.Changes)
}

// harnessFailed reports whether the perf run ended early through no
// fault of a kernel.
func (p *PerfResult) harnessFailed() bool {
	return p.Error != "" && !p.CandidateFault && !p.BaselineFault
}

// MergeSuiteRuns joins the runs of parts of one catalogue selection (a
// side's parallel guests, a run's shards) into one run, its results in
// planned's order, each case followed by its subtests (a peer case's
// results, IDs under the case's). A planned case no part ran gets
// notRun(id) as its reason for not running, or is left out when notRun
// is nil or says "". A case that two parts ran is an error: the parts
// overlap.
func MergeSuiteRuns(planned []string, parts []*runs.Suite, notRun func(id string) string) (*runs.Suite, error) {
	out := &runs.Suite{}
	isPlanned := make(map[string]bool, len(planned))
	for _, id := range planned {
		isPlanned[id] = true
	}
	byID := map[string]suites.CaseResult{}
	subs := map[string][]suites.CaseResult{}
	for _, p := range parts {
		if p == nil {
			continue
		}
		out.Absorb(p)
		for _, res := range p.Results {
			if isPlanned[res.ID] {
				if _, dup := byID[res.ID]; dup {
					return nil, fmt.Errorf("case %s ran in two parts", res.ID)
				}
				byID[res.ID] = res
			} else if i := strings.LastIndex(res.ID, "/"); i > 0 {
				subs[res.ID[:i]] = append(subs[res.ID[:i]], res)
			}
		}
	}
	for _, id := range planned {
		res, ok := byID[id]
		if !ok {
			why := ""
			if notRun != nil {
				why = notRun(id)
			}
			if why == "" {
				continue
			}
			res = suites.CaseResult{ID: id, NotRun: why}
		}
		out.Results = append(out.Results, res)
		out.Results = append(out.Results, subs[id]...)
	}
	return out, nil
}
