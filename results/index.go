package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// IndexFile is the name of the run index in a results directory.
const IndexFile = "index.sqlite"

// Index is the SQLite index of the runs in a results directory: one row
// per run, and one per perf metric, for listing and history queries. It
// is derived data: every row comes from a run.json, and Reindex rebuilds
// it from them.
type Index struct {
	db  *sql.DB
	dir string
}

const indexSchema = `
CREATE TABLE IF NOT EXISTS runs (
	id TEXT PRIMARY KEY,
	dir TEXT NOT NULL,
	started TEXT NOT NULL,
	finished TEXT NOT NULL,
	baseline TEXT NOT NULL,
	candidate TEXT NOT NULL,
	accel TEXT NOT NULL,
	cases INTEGER NOT NULL,
	changes INTEGER NOT NULL,
	unexpected INTEGER NOT NULL,
	problems INTEGER NOT NULL,
	perf_level TEXT NOT NULL,
	perf_significant INTEGER NOT NULL,
	perf_regressions INTEGER NOT NULL,
	failed INTEGER NOT NULL,
	verdict TEXT NOT NULL,
	source TEXT NOT NULL,
	tree TEXT NOT NULL,
	branch TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started);
CREATE TABLE IF NOT EXISTS perf (
	run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	bench TEXT NOT NULL,
	metric TEXT NOT NULL,
	base_median REAL NOT NULL,
	new_median REAL NOT NULL,
	change_pct REAL NOT NULL,
	p REAL NOT NULL,
	verdict TEXT NOT NULL,
	PRIMARY KEY (run_id, bench, metric)
);
CREATE INDEX IF NOT EXISTS perf_bench ON perf(bench, metric);
CREATE TABLE IF NOT EXISTS nights (
	run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
	tree TEXT NOT NULL,
	branch TEXT NOT NULL,
	config TEXT NOT NULL,
	commit_id TEXT NOT NULL,
	previous TEXT NOT NULL,
	subject TEXT NOT NULL,
	started TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nights_tree ON nights(tree, branch, config, started);
CREATE TABLE IF NOT EXISTS morning (
	run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	case_id TEXT NOT NULL,
	from_outcome TEXT NOT NULL,
	to_outcome TEXT NOT NULL,
	since TEXT NOT NULL,
	window TEXT NOT NULL,
	note TEXT NOT NULL,
	PRIMARY KEY (run_id, kind, case_id)
);
CREATE TABLE IF NOT EXISTS outcomes (
	run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	case_id TEXT NOT NULL,
	outcome TEXT NOT NULL,
	PRIMARY KEY (run_id, case_id)
);
CREATE INDEX IF NOT EXISTS outcomes_case ON outcomes(case_id);
CREATE TABLE IF NOT EXISTS flaky (
	run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	case_id TEXT NOT NULL,
	PRIMARY KEY (run_id, case_id)
);
`

// indexVersion is the schema's version, kept in SQLite's user_version.
// An index of an older version is rebuilt from its run folders when it
// is opened for writing (it is derived data).
const indexVersion = 3 // 3: a night's unexpected count is what is new since last night

// indexTables are the tables of indexSchema, dropped to rebuild an index
// of an older version.
var indexTables = []string{"flaky", "outcomes", "morning", "nights", "perf", "runs"}

// OpenIndex opens (creating it if need be) the index of the results
// directory dir. An index an older patchtest wrote is rebuilt from the
// run folders beside it.
func OpenIndex(dir string) (*Index, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, IndexFile)
	db, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	x := &Index{db: db, dir: dir}
	if err := x.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w (delete it and run patchtest results reindex)", p, err)
	}
	return x, nil
}

// OpenIndexReadOnly opens the index of the results directory dir for
// reading only: it creates nothing, and refuses an index that does not
// exist or that an older patchtest wrote.
func OpenIndexReadOnly(dir string) (*Index, error) {
	p := filepath.Join(dir, IndexFile)
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("no index in %s (%v): run patchtest there first, or patchtest results reindex --out %s", dir, err, dir)
	}
	db, err := sql.Open("sqlite", "file:"+p+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		db.Close()
		if unix.Access(dir, unix.W_OK) != nil {
			// A WAL database is read through its shared-memory file,
			// which SQLite must be able to create beside it.
			return nil, fmt.Errorf("open %s: %w: the index is a WAL database, and SQLite creates its -shm file beside it to read it: give a writable results directory (nothing is written to the index)", p, err)
		}
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	if v != indexVersion {
		db.Close()
		return nil, fmt.Errorf("index %s has version %d, this patchtest reads %d: run patchtest results reindex --out %s", p, v, indexVersion, dir)
	}
	return &Index{db: db, dir: dir}, nil
}

// migrate creates the schema, or rebuilds an index of an older version.
func (x *Index) migrate(ctx context.Context) error {
	var v, tables int
	if err := x.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'`).Scan(&tables); err != nil {
		return err
	}
	if v == indexVersion {
		_, err := x.db.ExecContext(ctx, indexSchema)
		return err
	}
	old := tables > 0
	for _, t := range indexTables {
		if _, err := x.db.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
			return err
		}
	}
	if _, err := x.db.ExecContext(ctx, indexSchema); err != nil {
		return err
	}
	if _, err := x.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, indexVersion)); err != nil {
		return err
	}
	if old {
		if _, _, err := x.Reindex(ctx); err != nil {
			return fmt.Errorf("rebuild from version %d: %w", v, err)
		}
	}
	return nil
}

// Close closes the index.
func (x *Index) Close() error { return x.db.Close() }

// Add records r, replacing an earlier row of the same run.
func (x *Index) Add(ctx context.Context, r *Record) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	row := summaryOf(r)
	if _, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, r.ID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		row.ID, row.Dir, row.Started.Format(time.RFC3339), row.Finished.Format(time.RFC3339),
		row.Baseline, row.Candidate, row.Accel, row.Cases, row.Changes, row.Unexpected, row.Problems,
		row.PerfLevel, row.PerfSignificant, row.PerfRegressions, row.Failed,
		row.Verdict, row.Source, row.Tree, row.Branch)
	if err != nil {
		return fmt.Errorf("index run %s: %w", r.ID, err)
	}
	if r.Perf != nil {
		for _, c := range r.Perf.Changes {
			_, err := tx.ExecContext(ctx, `INSERT INTO perf VALUES (?,?,?,?,?,?,?,?)`,
				r.ID, c.Bench, c.Metric, c.Base.Median, c.New.Median, c.ChangePct, c.P, c.Verdict)
			if err != nil {
				return fmt.Errorf("index run %s: %w", r.ID, err)
			}
		}
	}
	if n := r.Night; n != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO nights VALUES (?,?,?,?,?,?,?,?)`,
			r.ID, n.Tree, n.Branch, n.Config, n.Commit, n.Previous, n.Subject, r.Started.Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("index night %s: %w", r.ID, err)
		}
		for _, m := range morningRows(n.Morning) {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO morning VALUES (?,?,?,?,?,?,?,?)`,
				r.ID, m.Kind, m.ID, m.From, m.To, m.Since, m.Window, m.Note); err != nil {
				return fmt.Errorf("index night %s: %w", r.ID, err)
			}
		}
		if run := r.Candidate.Run; run != nil {
			for _, res := range run.Results {
				if _, err := tx.ExecContext(ctx, `INSERT INTO outcomes VALUES (?,?,?)`, r.ID, res.ID, CaseOutcome(res)); err != nil {
					return fmt.Errorf("index night %s: %w", r.ID, err)
				}
			}
		}
		for _, id := range n.Flaky {
			if _, err := tx.ExecContext(ctx, `INSERT INTO flaky VALUES (?,?)`, r.ID, id); err != nil {
				return fmt.Errorf("index night %s: %w", r.ID, err)
			}
		}
	}
	return tx.Commit()
}

// RunSummary is one run's row in the index.
type RunSummary struct {
	ID                string
	Dir               string
	Started, Finished time.Time
	Baseline          string
	Candidate         string
	Accel             string
	Cases             int
	Changes           int
	Unexpected        int
	Problems          int
	PerfLevel         string
	PerfSignificant   int
	PerfRegressions   int
	Failed            bool
	// Verdict is VerdictFailed, VerdictIncomplete or VerdictPassed.
	Verdict string
	// Source is the candidate's source as given (debian:6.12, git:…),
	// or its image when it was not built.
	Source string
	// Tree and Branch are the candidate's git repository and branch
	// where known (a nightly run's always).
	Tree, Branch string
}

// Run verdicts as the index keeps them.
const (
	// VerdictFailed: the run found something a reviewer must look at.
	VerdictFailed = "failed"
	// VerdictIncomplete: nothing found, but the run did not finish.
	VerdictIncomplete = "incomplete"
	// VerdictPassed: the run finished and found nothing unexpected.
	VerdictPassed = "passed"
)

func summaryOf(r *Record) RunSummary {
	s := RunSummary{
		ID: r.ID, Dir: r.Dir, Started: r.Started, Finished: r.Finished,
		Baseline: kernelDesc(r.Baseline), Candidate: kernelDesc(r.Candidate),
		Changes: len(r.Changes), Failed: r.Failed(), Verdict: VerdictPassed,
		Source: r.Candidate.Spec.Source,
	}
	switch {
	case s.Failed:
		s.Verdict = VerdictFailed
	case r.Incomplete:
		s.Verdict = VerdictIncomplete
	}
	if s.Source == "" {
		s.Source = r.Candidate.Spec.Path
	}
	if b := r.Candidate.Build; b != nil && b.Git != nil {
		s.Tree, s.Branch = b.Git.URL, b.Git.Branch
	}
	if n := r.Night; n != nil {
		s.Tree, s.Branch = n.Tree, n.Branch
	}
	if run := r.Candidate.Run; run != nil {
		s.Cases = len(run.Results)
		if len(run.Boots) > 0 {
			s.Accel = string(run.Boots[0].Accel)
		}
	}
	switch {
	case r.Night != nil:
		// A night is judged by what is new since last night (Failed):
		// what was present already, or fixed tonight, is not unexpected.
		if m := r.Night.Morning; m != nil {
			s.Unexpected = len(m.New)
		}
	case r.Verdict != nil:
		s.Unexpected = len(r.Verdict.Unexpected) + len(r.Verdict.Unmet)
	default:
		s.Unexpected = len(r.Changes)
	}
	p := r.Candidate.Summary
	s.Problems = len(p.Invariants) + len(p.Crashes) + len(p.Kmsg)
	if r.Perf != nil {
		s.PerfLevel = r.Perf.Run.Level.Name
		if s.Accel == "" && len(r.Perf.Run.Boots) > 0 {
			s.Accel = string(r.Perf.Run.Boots[0].Accel)
		}
		for _, c := range r.Perf.Changes {
			if c.Significant() {
				s.PerfSignificant++
			}
		}
		s.PerfRegressions = len(r.Perf.Regressions)
	}
	return s
}

// Reindex rebuilds the index from the run.json files under its
// directory and returns how many runs it holds. Folders whose run.json
// cannot be read are reported in skipped, not fatal.
func (x *Index) Reindex(ctx context.Context) (n int, skipped []string, err error) {
	if _, err := x.db.ExecContext(ctx, `DELETE FROM perf; DELETE FROM runs;`); err != nil {
		return 0, nil, err
	}
	entries, err := os.ReadDir(x.dir)
	if err != nil {
		return 0, nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(x.dir, e.Name())
		r, err := LoadRecord(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", d, err))
			continue
		}
		r.Dir = d
		if err := x.Add(ctx, r); err != nil {
			return n, skipped, err
		}
		n++
	}
	return n, skipped, nil
}
