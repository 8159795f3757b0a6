package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RunFilter selects runs from the index; an empty field matches any.
type RunFilter struct {
	Source, Tree, Branch, Verdict string
	// Before keeps the runs started before it, when it is set.
	Before time.Time
	// Limit is how many runs at most (all when 0), Offset how many of
	// the newest to pass over first.
	Limit, Offset int
}

const runColumns = `id, dir, started, finished, baseline, candidate, accel, cases, changes, unexpected, problems,
	perf_level, perf_significant, perf_regressions, failed, verdict, source, tree, branch`

func scanRun(sc interface{ Scan(...any) error }) (RunSummary, error) {
	var s RunSummary
	var started, finished string
	err := sc.Scan(&s.ID, &s.Dir, &started, &finished, &s.Baseline, &s.Candidate, &s.Accel, &s.Cases,
		&s.Changes, &s.Unexpected, &s.Problems, &s.PerfLevel, &s.PerfSignificant, &s.PerfRegressions, &s.Failed,
		&s.Verdict, &s.Source, &s.Tree, &s.Branch)
	s.Started, _ = time.Parse(time.RFC3339, started)
	s.Finished, _ = time.Parse(time.RFC3339, finished)
	return s, err
}

// List returns the indexed runs, newest first; at most limit when limit
// is positive.
func (x *Index) List(ctx context.Context, limit int) ([]RunSummary, error) {
	out, _, err := x.Runs(ctx, RunFilter{Limit: limit})
	return out, err
}

// Runs returns the runs f selects, newest first, and how many it selects
// in all (beyond Limit).
func (x *Index) Runs(ctx context.Context, f RunFilter) ([]RunSummary, int, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"source", f.Source}, {"tree", f.Tree}, {"branch", f.Branch}, {"verdict", f.Verdict}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.Before.IsZero() {
		where = append(where, "started < ?")
		args = append(args, f.Before.Format(time.RFC3339))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM runs`+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	q := `SELECT ` + runColumns + ` FROM runs` + cond + ` ORDER BY started DESC, id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", f.Limit, max(f.Offset, 0))
	}
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		s, err := scanRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}

// ErrNoRun means the index holds no run of that ID.
var ErrNoRun = errors.New("no such run in the index")

// Run returns the indexed run id.
func (x *Index) Run(ctx context.Context, id string) (RunSummary, error) {
	s, err := scanRun(x.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("run %q: %w", id, ErrNoRun)
	}
	return s, err
}

// Facets are the values the runs' filters can take.
type Facets struct {
	Sources, Trees, Branches []string
	Verdicts                 []string
}

// Facets returns the distinct sources, trees, branches and verdicts of
// the indexed runs, sorted.
func (x *Index) Facets(ctx context.Context) (Facets, error) {
	var f Facets
	for _, c := range []struct {
		col string
		to  *[]string
	}{{"source", &f.Sources}, {"tree", &f.Trees}, {"branch", &f.Branches}, {"verdict", &f.Verdicts}} {
		rows, err := x.db.QueryContext(ctx, `SELECT DISTINCT `+c.col+` FROM runs WHERE `+c.col+` != '' ORDER BY 1`)
		if err != nil {
			return f, err
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return f, err
			}
			*c.to = append(*c.to, v)
		}
		rows.Close()
	}
	return f, nil
}

// TreeSummary is one tree, branch and configuration that nightly runs
// follow.
type TreeSummary struct {
	Tree, Branch, Config string
	Nights               int
	Last                 time.Time
	LastCommit           string
}

// Trees returns what the nightly runs follow, most recently run first.
func (x *Index) Trees(ctx context.Context) ([]TreeSummary, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT tree, branch, config, count(*), max(started),
		(SELECT commit_id FROM nights m WHERE m.tree = n.tree AND m.branch = n.branch AND m.config = n.config ORDER BY started DESC LIMIT 1)
		FROM nights n GROUP BY tree, branch, config ORDER BY max(started) DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TreeSummary
	for rows.Next() {
		var t TreeSummary
		var last string
		if err := rows.Scan(&t.Tree, &t.Branch, &t.Config, &t.Nights, &last, &t.LastCommit); err != nil {
			return nil, err
		}
		t.Last, _ = time.Parse(time.RFC3339Nano, last)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Kinds of a morning row.
const (
	MorningNew     = "new"
	MorningPresent = "present"
	MorningFixed   = "fixed"
	MorningFlaky   = "flaky"
)

// MorningRow is one case of a night's morning report as the index keeps
// it: Kind is MorningNew, MorningPresent, MorningFixed or MorningFlaky
// (called flaky that night; Note says why).
type MorningRow struct {
	Kind, ID, From, To, Since, Window, Note string
}

func morningRows(m *Morning) []MorningRow {
	if m == nil {
		return nil
	}
	var out []MorningRow
	for _, k := range []struct {
		kind string
		cs   []NightChange
	}{{MorningNew, m.New}, {MorningPresent, m.Present}, {MorningFixed, m.Fixed}} {
		for _, c := range k.cs {
			out = append(out, MorningRow{Kind: k.kind, ID: c.ID, From: c.From, To: c.To, Since: c.Since, Window: c.Window, Note: c.Unconfirmed})
		}
	}
	for _, r := range m.FlakyTonight {
		out = append(out, MorningRow{Kind: MorningFlaky, ID: r.ID, From: strings.Join(r.Outcomes, ", "), Note: r.Why})
	}
	return out
}

// NightRow is one night of a tree as the index keeps it, with its
// morning report.
type NightRow struct {
	RunID, Commit, Previous, Subject, Verdict string
	Started                                   time.Time
	New, Present, Fixed, Flaky                []MorningRow
}

// NightRows returns the nights of tree, branch and config, newest first,
// at most limit (all when 0), each with its morning report.
func (x *Index) NightRows(ctx context.Context, tree, branch, config string, limit int) ([]NightRow, error) {
	q := `SELECT n.run_id, n.commit_id, n.previous, n.subject, r.verdict, n.started FROM nights n JOIN runs r ON r.id = n.run_id
		WHERE n.tree = ? AND n.branch = ? AND n.config = ? ORDER BY n.started DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := x.db.QueryContext(ctx, q, tree, branch, config)
	if err != nil {
		return nil, err
	}
	var out []NightRow
	at := map[string]int{}
	for rows.Next() {
		var n NightRow
		var started string
		if err := rows.Scan(&n.RunID, &n.Commit, &n.Previous, &n.Subject, &n.Verdict, &started); err != nil {
			rows.Close()
			return nil, err
		}
		n.Started, _ = time.Parse(time.RFC3339Nano, started)
		at[n.RunID] = len(out)
		out = append(out, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ms, err := x.db.QueryContext(ctx, `SELECT m.run_id, m.kind, m.case_id, m.from_outcome, m.to_outcome, m.since, m.window, m.note
		FROM morning m JOIN nights n ON n.run_id = m.run_id WHERE n.tree = ? AND n.branch = ? AND n.config = ? ORDER BY m.case_id`, tree, branch, config)
	if err != nil {
		return nil, err
	}
	defer ms.Close()
	for ms.Next() {
		var run string
		var m MorningRow
		if err := ms.Scan(&run, &m.Kind, &m.ID, &m.From, &m.To, &m.Since, &m.Window, &m.Note); err != nil {
			return nil, err
		}
		i, ok := at[run]
		if !ok {
			continue
		}
		n := &out[i]
		switch m.Kind {
		case MorningNew:
			n.New = append(n.New, m)
		case MorningPresent:
			n.Present = append(n.Present, m)
		case MorningFixed:
			n.Fixed = append(n.Fixed, m)
		case MorningFlaky:
			n.Flaky = append(n.Flaky, m)
		}
	}
	return out, ms.Err()
}

// BenchMetric is a benchmark metric the index has comparisons of.
type BenchMetric struct {
	Bench, Metric string
	Runs          int
}

// Benchmarks returns the benchmark metrics the index holds, by name.
func (x *Index) Benchmarks(ctx context.Context) ([]BenchMetric, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT bench, metric, count(*) FROM perf GROUP BY bench, metric ORDER BY bench, metric`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BenchMetric
	for rows.Next() {
		var b BenchMetric
		if err := rows.Scan(&b.Bench, &b.Metric, &b.Runs); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// TreeTrend is a benchmark metric's medians night by night on one tree,
// branch and configuration, oldest first.
type TreeTrend struct {
	Tree, Branch, Config string
	Points               []TrendPoint
}

// BenchTrend returns a benchmark metric's nightly medians per tree,
// branch and configuration; a point whose verdict is a regression or an
// improvement is a change point (that night's comparison with the one
// before called it).
func (x *Index) BenchTrend(ctx context.Context, bench, metric string) ([]TreeTrend, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT n.tree, n.branch, n.config, n.run_id, n.commit_id, p.new_median, p.verdict
		FROM nights n JOIN perf p ON p.run_id = n.run_id WHERE p.bench = ? AND p.metric = ?
		ORDER BY n.tree, n.branch, n.config, n.started`, bench, metric)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TreeTrend
	for rows.Next() {
		var tree, branch, config string
		t := TrendPoint{Bench: bench, Metric: metric}
		if err := rows.Scan(&tree, &branch, &config, &t.RunID, &t.Commit, &t.Median, &t.Verdict); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Tree != tree || out[n-1].Branch != branch || out[n-1].Config != config {
			out = append(out, TreeTrend{Tree: tree, Branch: branch, Config: config})
		}
		out[len(out)-1].Points = append(out[len(out)-1].Points, t)
	}
	return out, rows.Err()
}
