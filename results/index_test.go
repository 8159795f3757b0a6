package results

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

func fakeRecord(id string, started time.Time, changes int, withPerf bool) *Record {
	r := &Record{Schema: SchemaVersion, ID: id, Started: started, Finished: started.Add(time.Minute)}
	r.Baseline = KernelResult{Role: "baseline", BzImage: "/k/stock", Run: &runs.Suite{}}
	r.Candidate = KernelResult{Role: "candidate", BzImage: "/k/patched", Run: &runs.Suite{Results: []suites.CaseResult{{ID: "a/b/c"}}}}
	for i := range changes {
		r.Changes = append(r.Changes, Change{ID: "x/y/" + string(rune('a'+i)), From: "1", To: "2"})
	}
	if withPerf {
		r.Perf = &PerfResult{Run: &runs.Perf{}, Changes: []PerfChange{
			{Bench: "vmsplice/pipe-devnull/64KiB", Metric: "B/s", Base: Dist{Median: 100}, New: Dist{Median: 50}, ChangePct: -50, P: 0.002, Verdict: PerfRegression},
		}}
		r.Perf.Regressions = r.Perf.Changes
	}
	return r
}

func TestIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	recs := []*Record{
		fakeRecord("run1", t0, 0, false),
		fakeRecord("run2", t0.Add(time.Hour), 2, true),
		fakeRecord("run3", t0.Add(2*time.Hour), 0, true),
	}
	for _, r := range recs {
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	x, err := OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, r := range recs {
		if err := x.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Adding a run again replaces it.
	if err := x.Add(ctx, recs[1]); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		list, err := x.List(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || list[0].ID != "run3" || list[2].ID != "run1" {
			t.Fatalf("%s: list %+v", what, list)
		}
		if r2 := list[1]; r2.Changes != 2 || r2.Unexpected != 2 || !r2.Failed || r2.PerfRegressions != 1 || r2.Candidate != "/k/patched" {
			t.Errorf("%s: run2 row %+v", what, r2)
		}
		if list[2].Failed {
			t.Errorf("%s: run1 failed", what)
		}
		h, err := x.History(ctx, "vmsplice/pipe-devnull/64KiB", "B/s")
		if err != nil || len(h) != 2 || h[0].RunID != "run2" || h[1].ChangePct != -50 {
			t.Errorf("%s: history %+v, %v", what, h, err)
		}
		if short, _ := x.List(ctx, 1); len(short) != 1 {
			t.Errorf("%s: limit 1 gave %d", what, len(short))
		}
	}
	check("added")
	// A folder with a broken run.json is skipped, not fatal.
	os.MkdirAll(filepath.Join(dir, "broken"), 0o755)
	os.WriteFile(filepath.Join(dir, "broken", "run.json"), []byte("{"), 0o644)
	n, skipped, err := x.Reindex(ctx)
	if err != nil || n != 3 || len(skipped) != 1 {
		t.Fatalf("reindex: %d runs, skipped %v, %v", n, skipped, err)
	}
	check("reindexed")
}

// An index an older patchtest wrote (schema version 1, no verdict
// column) is refused for reading and rebuilt from its run folders when
// opened for writing.
func TestIndexOlderVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, r := range []*Record{fakeRecord("run1", t0, 0, false), fakeRecord("run2", t0.Add(time.Hour), 2, true)} {
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE runs (id TEXT PRIMARY KEY, dir TEXT NOT NULL, failed INTEGER NOT NULL); INSERT INTO runs VALUES ('old', '/x', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenIndexReadOnly(dir); err == nil || !strings.Contains(err.Error(), "patchtest results reindex --out "+dir) {
		t.Errorf("read-only open of an old index: %v", err)
	}
	x, err := OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := x.List(ctx, 0)
	x.Close()
	if err != nil || len(list) != 2 || list[0].ID != "run2" || list[0].Verdict != VerdictFailed || list[1].Verdict != VerdictPassed {
		t.Fatalf("rebuilt index: %+v, %v", list, err)
	}
	if x, err = OpenIndexReadOnly(dir); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if _, err := OpenIndexReadOnly(t.TempDir()); err == nil {
		t.Error("a directory without an index opened")
	}
}

// A night's unexpected count is what is new since last night: a change
// already present, or one fixed tonight, is known.
func TestSummaryNightUnexpected(t *testing.T) {
	ch := []Change{{ID: "a/b/c", From: "x", To: "y"}, {ID: "a/b/d", From: "x", To: "y"}}
	for _, tc := range []struct {
		name string
		m    *Morning
		want int
	}{
		{"fixed tonight", &Morning{Fixed: []NightChange{{ID: "a/b/c"}}, Present: []NightChange{{ID: "a/b/d"}}}, 0},
		{"one new", &Morning{New: []NightChange{{ID: "a/b/c"}}, Present: []NightChange{{ID: "a/b/d"}}}, 1},
		{"no morning", nil, 0},
	} {
		r := &Record{ID: "n", Changes: ch, Night: &Night{Tree: "/t", Morning: tc.m}}
		if got := summaryOf(r).Unexpected; got != tc.want {
			t.Errorf("%s: unexpected %d, want %d", tc.name, got, tc.want)
		}
		if r.Failed() != (tc.want > 0) {
			t.Errorf("%s: failed %v with %d unexpected", tc.name, r.Failed(), tc.want)
		}
	}
	if got := summaryOf(&Record{Changes: ch}).Unexpected; got != 2 {
		t.Errorf("a run without expectations: unexpected %d, want its 2 changes", got)
	}
}
