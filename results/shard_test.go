package results

import (
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

func TestParseShard(t *testing.T) {
	for s, ok := range map[string]bool{"1/1": true, "2/3": true, "3/3": true, "0/3": false, "4/3": false, "1/0": false, "a/b": false, "1/3x": false, "": false} {
		if _, _, err := ParseShard(s); (err == nil) != ok {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// Every case lands in exactly one shard, the same one every time, and
// three shards each get a fair part of the catalogue.
func TestShardOf(t *testing.T) {
	count := map[int]int{}
	for _, c := range suites.Catalogue().Cases() {
		s := ShardOf(c.ID, 3)
		if s < 1 || s > 3 || ShardOf(c.ID, 3) != s {
			t.Fatalf("%s: shard %d", c.ID, s)
		}
		count[s]++
	}
	n := len(suites.Catalogue().Cases())
	for s := 1; s <= 3; s++ {
		if count[s] < n/6 {
			t.Errorf("shard %d/3 has %d of %d cases", s, count[s], n)
		}
	}
}

func shardRecord(i, n int, kernel string, ids ...string) *Record {
	r := &Record{ID: "r", Dir: "/runs/" + string(rune('0'+i)), Baseline: KernelResult{Role: runs.Baseline}, Candidate: KernelResult{Role: runs.Candidate},
		Shard: &Shard{Index: i, Count: n, Catalogue: CatalogueID(), Kernels: []string{"build:a", kernel}, Patterns: []string{"tee/*"}}}
	r.Baseline.Run, r.Candidate.Run = &runs.Suite{}, &runs.Suite{}
	for _, id := range ids {
		r.Baseline.Run.Results = append(r.Baseline.Run.Results, suites.CaseResult{ID: id, Obs: &suites.Observation{Type: suites.TResult, Value: "0"}})
		r.Candidate.Run.Results = append(r.Candidate.Run.Results, suites.CaseResult{ID: id, Obs: &suites.Observation{Type: suites.TResult, Value: "1"}})
	}
	return r
}

// Merging: shards of one run join; a shard of another run, count or
// catalogue is refused with the reason; a missing shard's cases are not
// run, and the merge is incomplete.
func TestMergeShards(t *testing.T) {
	cases, _ := suites.Catalogue().Select("tee/*")
	parts := map[int][]string{}
	for _, c := range cases {
		parts[ShardOf(c.ID, 2)] = append(parts[ShardOf(c.ID, 2)], c.ID)
	}
	a, b := shardRecord(1, 2, "build:b", parts[1]...), shardRecord(2, 2, "build:b", parts[2]...)
	m, err := MergeShards([]*Record{a, b}, testHeadline)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Candidate.Run.Results) != len(cases) || len(m.Changes) != len(cases) || m.Incomplete {
		t.Errorf("merged %d results, %d changes, incomplete %v; want %d", len(m.Candidate.Run.Results), len(m.Changes), m.Incomplete, len(cases))
	}
	for name, tc := range map[string]struct {
		recs []*Record
		err  string
	}{
		"other kernel":  {[]*Record{a, shardRecord(2, 2, "build:c", parts[2]...)}, "different runs"},
		"other count":   {[]*Record{a, shardRecord(2, 3, "build:b")}, "not one split"},
		"twice":         {[]*Record{a, a}, "given twice"},
		"not a shard":   {[]*Record{{ID: "x", Dir: "/runs/x"}}, "not a shard"},
		"other catalog": {[]*Record{a, func() *Record { r := shardRecord(2, 2, "build:b"); r.Shard.Catalogue = "0000"; return r }()}, "different patchtest versions"},
	} {
		if _, err := MergeShards(tc.recs, testHeadline); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", name, err, tc.err)
		}
	}
	m, err = MergeShards([]*Record{a}, testHeadline)
	if err != nil {
		t.Fatal(err)
	}
	miss := 0
	for _, r := range m.Candidate.Run.Results {
		if strings.Contains(r.NotRun, "shard 2/2 is missing") {
			miss++
		}
	}
	if miss != len(parts[2]) || !m.Incomplete {
		t.Errorf("%d not run for the missing shard, want %d; incomplete %v", miss, len(parts[2]), m.Incomplete)
	}
	// A missing shard is no finding about the kernel.
	if m.Candidate.Summary.Findings() || len(m.Candidate.Run.Failures) > 0 {
		t.Errorf("a missing shard became a kernel finding: %+v", m.Candidate.Summary)
	}
	// Each shard's fuzzing survives the merge: the differences of both
	// (one found twice kept once), the programs added up, a candidate
	// lost under a program kept, and the merged run fails on them.
	fa, fb := shardRecord(1, 2, "build:b", parts[1]...), shardRecord(2, 2, "build:b", parts[2]...)
	diff := func(id string) runs.FuzzDifference {
		return runs.FuzzDifference{ID: id, Call: "read(r, 10)", Baseline: runs.FuzzTrace{"0 read(r, 10) = 10"}, Candidate: runs.FuzzTrace{"0 read(r, 10) = 0"}}
	}
	fa.Fuzz = &runs.Fuzz{Seed: 1, Programs: 100, Signatures: 50, Coverage: "outcome signatures", Differences: []runs.FuzzDifference{diff("fuzz/read/a"), diff("fuzz/read/b")}}
	fb.Fuzz = &runs.Fuzz{Seed: 2, Programs: 90, Signatures: 60, Coverage: "outcome signatures", Differences: []runs.FuzzDifference{diff("fuzz/read/b")},
		Fault: &runs.FuzzFault{Side: runs.Candidate, Error: "kernel oops under a program"}}
	m, err = MergeShards([]*Record{fa, fb}, testHeadline)
	if err != nil {
		t.Fatal(err)
	}
	if f := m.Fuzz; f == nil || f.Programs != 190 || len(f.Differences) != 2 || f.Fault == nil || f.Signatures != 60 {
		t.Errorf("merged fuzzing %+v: want 190 programs, 2 differences, the fault, 60 signatures", f)
	}
	if !m.Failed() {
		t.Error("a merged run with undeclared fuzz differences and a lost candidate passed")
	}
	// A shard cut short, given last, makes the merge incomplete too.
	cut := shardRecord(2, 2, "build:b", parts[2]...)
	cut.Incomplete = true
	if m, err = MergeShards([]*Record{a, cut}, testHeadline); err != nil || !m.Incomplete {
		t.Errorf("merged with an incomplete shard: incomplete %v, %v", m != nil && m.Incomplete, err)
	}
}
