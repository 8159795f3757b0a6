package results

import (
	"context"
	"time"

	"github.com/patchtest/patchtest/suites/perf"
)

// Nights returns the nightly runs of tree, branch and config, oldest
// first, each with the candidate's outcome per case, and the cases found
// flaky on any of them.
func (x *Index) Nights(ctx context.Context, tree, branch, config string) ([]NightOutcomes, map[string]bool, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT run_id, commit_id, started FROM nights WHERE tree = ? AND branch = ? AND config = ? ORDER BY started`, tree, branch, config)
	if err != nil {
		return nil, nil, err
	}
	var out []NightOutcomes
	for rows.Next() {
		var n NightOutcomes
		var started string
		if err := rows.Scan(&n.RunID, &n.Commit, &started); err != nil {
			rows.Close()
			return nil, nil, err
		}
		n.Started, _ = time.Parse(time.RFC3339Nano, started)
		out = append(out, n)
	}
	rows.Close()
	flaky := map[string]bool{}
	for i := range out {
		out[i].Outcomes = map[string]string{}
		rs, err := x.db.QueryContext(ctx, `SELECT case_id, outcome FROM outcomes WHERE run_id = ?`, out[i].RunID)
		if err != nil {
			return nil, nil, err
		}
		for rs.Next() {
			var id, o string
			if err := rs.Scan(&id, &o); err != nil {
				rs.Close()
				return nil, nil, err
			}
			out[i].Outcomes[id] = o
		}
		rs.Close()
		fs, err := x.db.QueryContext(ctx, `SELECT case_id FROM flaky WHERE run_id = ?`, out[i].RunID)
		if err != nil {
			return nil, nil, err
		}
		for fs.Next() {
			var id string
			if fs.Scan(&id) == nil {
				flaky[id] = true
			}
		}
		fs.Close()
	}
	return out, flaky, nil
}

// NightTrend returns the benchmarks' primary metrics on the nightly runs
// of tree, branch and config, oldest first.
func (x *Index) NightTrend(ctx context.Context, tree, branch, config string) ([]TrendPoint, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT n.run_id, n.commit_id, p.bench, p.metric, p.new_median, p.verdict FROM nights n JOIN perf p ON p.run_id = n.run_id
		WHERE n.tree = ? AND n.branch = ? AND n.config = ? ORDER BY n.started, p.bench`, tree, branch, config)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TrendPoint
	for rows.Next() {
		var t TrendPoint
		if err := rows.Scan(&t.RunID, &t.Commit, &t.Bench, &t.Metric, &t.Median, &t.Verdict); err != nil {
			return nil, err
		}
		if b, ok := perf.Lookup(t.Bench); ok && b.Metrics[0] == t.Metric {
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

// CasePoint is one night's outcome of a case.
type CasePoint struct {
	RunID, Tree, Branch, Commit, Outcome string
	Started                              time.Time
}

// CaseHistory returns a case's outcome on every nightly run, oldest first.
func (x *Index) CaseHistory(ctx context.Context, id string) ([]CasePoint, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT n.run_id, n.tree, n.branch, n.commit_id, n.started, o.outcome FROM nights n JOIN outcomes o ON o.run_id = n.run_id WHERE o.case_id = ? ORDER BY n.started`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CasePoint
	for rows.Next() {
		var p CasePoint
		var started string
		if err := rows.Scan(&p.RunID, &p.Tree, &p.Branch, &p.Commit, &started, &p.Outcome); err != nil {
			return nil, err
		}
		p.Started, _ = time.Parse(time.RFC3339Nano, started)
		out = append(out, p)
	}
	return out, rows.Err()
}

// PerfPoint is one run's comparison of a benchmark metric.
type PerfPoint struct {
	RunID      string
	Started    time.Time
	Candidate  string
	BaseMedian float64
	NewMedian  float64
	ChangePct  float64
	P          float64
	Verdict    string
}

// History returns a benchmark metric's comparisons across runs, oldest
// first.
func (x *Index) History(ctx context.Context, bench, metric string) ([]PerfPoint, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT r.id, r.started, r.candidate, p.base_median, p.new_median, p.change_pct, p.p, p.verdict
		FROM perf p JOIN runs r ON r.id = p.run_id WHERE p.bench = ? AND p.metric = ? ORDER BY r.started, r.id`, bench, metric)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PerfPoint
	for rows.Next() {
		var pt PerfPoint
		var started string
		if err := rows.Scan(&pt.RunID, &started, &pt.Candidate, &pt.BaseMedian, &pt.NewMedian, &pt.ChangePct, &pt.P, &pt.Verdict); err != nil {
			return nil, err
		}
		pt.Started, _ = time.Parse(time.RFC3339, started)
		out = append(out, pt)
	}
	return out, rows.Err()
}
