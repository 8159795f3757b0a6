package results

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

func TestMergeSuiteRuns(t *testing.T) {
	ok := suites.Outcome("ok", "")
	res := func(ids ...string) *runs.Suite {
		r := &runs.Suite{}
		for _, id := range ids {
			r.Results = append(r.Results, suites.CaseResult{ID: id, Obs: &ok})
		}
		return r
	}
	planned := []string{"a/x", "peer/p", "b/y"}
	for _, tc := range []struct {
		name   string
		parts  []*runs.Suite
		notRun func(string) string
		want   string // IDs, a not-run one with a !
		err    string
	}{
		{name: "subtests stay with their case, catalogue order",
			parts: []*runs.Suite{res("peer/p", "peer/p/1", "peer/p/2"), nil, res("b/y", "a/x")},
			want:  "a/x peer/p peer/p/1 peer/p/2 b/y"},
		{name: "a case no part ran is left out",
			parts: []*runs.Suite{res("b/y")}, want: "b/y"},
		{name: "a case no part ran is not run, with the reason",
			parts: []*runs.Suite{res("b/y")}, notRun: func(id string) string { return "lost " + id },
			want: "a/x! peer/p! b/y"},
		{name: "two parts ran one case",
			parts: []*runs.Suite{res("a/x"), res("a/x")}, err: "a/x ran in two parts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeSuiteRuns(planned, tc.parts, tc.notRun)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got.Results {
				if r.NotRun != "" {
					if r.NotRun != "lost "+r.ID {
						t.Errorf("%s not run: %q", r.ID, r.NotRun)
					}
					r.ID += "!"
				}
				ids = append(ids, r.ID)
			}
			if s := strings.Join(ids, " "); s != tc.want {
				t.Errorf("merged %q, want %q", s, tc.want)
			}
		})
	}
}

// A run split into two shards and merged finishes as the same run
// unsplit: the same changes, perf regressions and verdict, declared perf
// changes included (a merge that did not mark them failed the run).
func TestMergedShardsFinishAsOne(t *testing.T) {
	dir := t.TempDir()
	expect := filepath.Join(dir, "expect.yaml")
	decl := "changes:\n  - cases: \"tee/*/*\"\n    from: \"result:0\"\n    to: \"result:1\"\nperf:\n  - benchmarks: \"*\"\n    change: regression\n"
	if err := os.WriteFile(expect, []byte(decl), 0o644); err != nil {
		t.Fatal(err)
	}
	undeclared := filepath.Join(dir, "cases-only.yaml")
	if err := os.WriteFile(undeclared, []byte(decl[:strings.Index(decl, "perf:")]), 0o644); err != nil {
		t.Fatal(err)
	}
	cases, _ := suites.Catalogue().Select("tee/*")
	var ids []string
	for _, c := range cases {
		ids = append(ids, c.ID)
	}
	perfRun := fakePerfRun(rand.New(rand.NewPCG(1, 1)), 6, 0.10)
	for _, path := range []string{expect, undeclared} {
		x, err := LoadExpect(path)
		if err != nil {
			t.Fatal(err)
		}
		whole := shardRecord(1, 1, "build:b", ids...)
		whole.Shard, whole.Expect = nil, path
		whole.Perf = &PerfResult{Run: perfRun, Stats: PerfStats{}.WithDefaults(), FailPct: 5}
		whole.Finish(x)

		var shards []*Record
		for i := 1; i <= 2; i++ {
			var mine []string
			for _, id := range ids {
				if ShardOf(id, 2) == i {
					mine = append(mine, id)
				}
			}
			s := shardRecord(i, 2, "build:b", mine...)
			s.Expect = path
			part := *perfRun
			part.Benchmarks, part.Samples = nil, nil
			for _, b := range perfRun.Benchmarks {
				if ShardOf(b, 2) == i {
					part.Benchmarks = append(part.Benchmarks, b)
				}
			}
			for _, smp := range perfRun.Samples {
				if ShardOf(smp.ID, 2) == i {
					part.Samples = append(part.Samples, smp)
				}
			}
			s.Perf = &PerfResult{Run: &part, Stats: whole.Perf.Stats, FailPct: 5}
			s.Finish(x)
			shards = append(shards, s)
		}
		merged, err := MergeShards(shards, testHeadline)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		if len(whole.Perf.Changes) == 0 || len(whole.Verdict.Expected) != len(ids) {
			t.Fatalf("%s: the unsplit run found %d perf changes, %d expected case changes (%+v)", name, len(whole.Perf.Changes), len(whole.Verdict.Expected), whole.Verdict)
		}
		if merged.Failed() != whole.Failed() {
			t.Errorf("%s: merged failed %v, unsplit %v", name, merged.Failed(), whole.Failed())
		}
		if want := path == undeclared; whole.Failed() != want {
			t.Errorf("%s: unsplit failed %v, want %v", name, whole.Failed(), want)
		}
		if a, b := regressionIDs(merged.Perf), regressionIDs(whole.Perf); !slices.Equal(a, b) {
			t.Errorf("%s: merged regressions %v, unsplit %v", name, a, b)
		}
		if len(merged.Changes) != len(whole.Changes) || len(merged.Verdict.Unexpected) != len(whole.Verdict.Unexpected) {
			t.Errorf("%s: merged %d changes (%d unexpected), unsplit %d (%d)", name, len(merged.Changes), len(merged.Verdict.Unexpected), len(whole.Changes), len(whole.Verdict.Unexpected))
		}
	}
}

func regressionIDs(p *PerfResult) []string {
	var out []string
	for _, c := range p.Regressions {
		out = append(out, c.Bench+" "+c.Metric)
	}
	slices.Sort(out)
	return out
}

// Finish leaves the verdict out of a run that compared nothing (the
// suites skipped, no fuzzing), and a harness-failed perf run claims no
// regressions.
func TestFinishNothingCompared(t *testing.T) {
	x := &Expect{Changes: []Expectation{{Cases: "tee/*"}}}
	r := &Record{Baseline: KernelResult{Role: runs.Baseline, Run: &runs.Suite{}}, Candidate: KernelResult{Role: runs.Candidate}}
	r.Perf = &PerfResult{Run: fakePerfRun(rand.New(rand.NewPCG(2, 2)), 6, 0.10), Stats: PerfStats{}.WithDefaults(), FailPct: 5, Error: "perf run not completed (harness): lost"}
	r.Finish(x)
	if r.Verdict != nil {
		t.Errorf("a verdict on nothing compared: %+v", r.Verdict)
	}
	if len(r.Perf.Changes) == 0 || len(r.Perf.Regressions) > 0 {
		t.Errorf("harness-failed perf: %d changes, %d regressions; want changes and no regression", len(r.Perf.Changes), len(r.Perf.Regressions))
	}
}
