package pipeline

import (
	"fmt"
	"slices"
	"testing"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
)

// Each shard of a selection gets a proper, non-empty part of its cases
// and benchmarks, no two shards the same case, and all of them together
// the whole selection.
func TestShardOf(t *testing.T) {
	for _, sel := range [][]string{nil, {"splice/*", "tee/*"}} {
		all, err := suites.Catalogue().Select(sel...)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, c := range all {
			want = append(want, c.ID)
		}
		benches, _ := perf.Select(perf.Quick)
		var wantB []string
		for _, b := range benches {
			wantB = append(wantB, b.ID)
		}
		for n := 1; n <= 3; n++ {
			seen, seenB := map[string]int{}, map[string]int{}
			for i := 1; i <= n; i++ {
				o := Options{ShardIndex: i, ShardCount: n, Patterns: sel, Perf: perf.Quick}
				sh := shardOf(&o)
				if sh.Index != i || sh.Count != n || !slices.Equal(sh.Patterns, sel) {
					t.Errorf("%v, shard %d/%d: manifest %+v", sel, i, n, sh)
				}
				if o.SkipSuites || len(o.Patterns) == 0 || o.Perf.Name == "" || len(o.Benchmarks) == 0 {
					t.Errorf("%v, shard %d/%d: %d cases, %d benchmarks (skip suites %v)", sel, i, n, len(o.Patterns), len(o.Benchmarks), o.SkipSuites)
				}
				if n > 1 && (len(o.Patterns) >= len(want) || len(o.Benchmarks) >= len(wantB)) {
					t.Errorf("%v, shard %d/%d: %d of %d cases, %d of %d benchmarks: not a part", sel, i, n, len(o.Patterns), len(want), len(o.Benchmarks), len(wantB))
				}
				for _, id := range o.Patterns {
					seen[id]++
				}
				for _, id := range o.Benchmarks {
					seenB[id]++
				}
			}
			for _, tc := range []struct {
				what string
				want []string
				seen map[string]int
			}{{"case", want, seen}, {"benchmark", wantB, seenB}} {
				for _, id := range tc.want {
					if tc.seen[id] != 1 {
						t.Errorf("%v, %d shards: %s %s in %d shards", sel, n, tc.what, id, tc.seen[id])
					}
				}
				if len(tc.seen) != len(tc.want) {
					t.Errorf("%v, %d shards: %d %ss run, %d selected", sel, n, len(tc.seen), tc.what, len(tc.want))
				}
			}
		}
	}
}

// Shards fuzz with seeds of their own, distinct across shards and seeds;
// an unsharded run keeps its seed.
func TestShardSeed(t *testing.T) {
	if got := shardSeed(7, 0, 0); got != 7 {
		t.Errorf("unsharded: seed %d, want 7", got)
	}
	seen := map[uint64]string{}
	for seed := uint64(1); seed <= 5; seed++ {
		for i := 1; i <= 3; i++ {
			s := shardSeed(seed, i, 3)
			if prev, ok := seen[s]; ok {
				t.Errorf("seed %d shard %d/3 gives %d, as %s does", seed, i, s, prev)
			}
			seen[s] = fmt.Sprintf("seed %d shard %d/3", seed, i)
		}
	}
}
