package results

import (
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/remote"
)

func record(changes []Change, v *Verdict, cand ProblemsSummary) *Record {
	run := &remote.Run{Results: []suites.CaseResult{{ID: "a/b/c", Obs: obs(suites.TBool, "yes")}}}
	return &Record{
		ID:        "20260101T000000Z",
		Baseline:  KernelResult{Role: "baseline", BzImage: "/k/stock", Run: run},
		Candidate: KernelResult{Role: "candidate", BzImage: "/k/patched", Run: run, Summary: cand},
		Changes:   changes, Verdict: v,
	}
}

func TestFailedAndReport(t *testing.T) {
	ch := []Change{{ID: "vmsplice/alias/read", From: "aliasing:aliased", To: "aliasing:copied"}}
	for _, tc := range []struct {
		name   string
		rec    *Record
		failed bool
		want   []string
	}{
		{"nothing changed", record(nil, nil, ProblemsSummary{}), false, []string{"No observation changed.", "only expected changes"}},
		{"change without expectations", record(ch, nil, ProblemsSummary{}), true, []string{"no expect.yaml", "aliasing:aliased -> aliasing:copied"}},
		{"expected change", record(ch, &Verdict{Expected: ch}, ProblemsSummary{}), false, []string{"1 declared in expect.yaml, 0 not", "Expected changes:"}},
		{"unexpected change", record(ch, &Verdict{Unexpected: ch}, ProblemsSummary{}), true, []string{"UNEXPECTED changes:", "needs a look"}},
		{"unmet expectation", record(nil, &Verdict{Unmet: []Expectation{{Cases: "tee/*", To: "result:0"}}}, ProblemsSummary{}), true, []string{"No observation changed."}},
		{"candidate crash", record(nil, nil, ProblemsSummary{Crashes: []string{"x/y/z: kernel panic"}}), true, []string{"crash: x/y/z: kernel panic"}},
		{"candidate warning", record(nil, nil, ProblemsSummary{Kmsg: []string{"x/y/z: <4> WARNING: at fs/splice.c"}}), true, []string{"kernel log: x/y/z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.Failed(); got != tc.failed {
				t.Errorf("Failed() = %v; want %v", got, tc.failed)
			}
			md := tc.rec.Markdown()
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("report lacks %q:\n%s", w, md)
				}
			}
			for i, l := range strings.Split(md, "\n") {
				if len([]rune(l)) > 72 && !strings.Contains(l, "/") {
					t.Errorf("line %d longer than 72 columns: %q", i+1, l)
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	s := summarize([]suites.CaseResult{
		{ID: "a/b/c", Invariant: []string{"broken"}},
		{ID: "a/b/d", Crash: "Kernel panic\nmore"},
		{ID: "a/b/e", Error: "hung: no result"},
		{ID: "a/b/f", Kmsg: []string{"<4> WARNING"}},
	})
	if len(s.Invariants) != 1 || s.Crashes[0] != "a/b/d: Kernel panic" || len(s.Errors) != 1 || len(s.Kmsg) != 1 {
		t.Errorf("summary %+v", s)
	}
}
