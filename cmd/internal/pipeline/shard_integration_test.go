package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// The default pair's catalogue split into 1, 2 and 3 shards and merged
// gives the same observations as one unsharded run; a shard of another
// candidate kernel is refused.
func TestIntegrationShards(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	series := filepath.Join("..", "..", "..", "kernels", "patches", "vmsplice-wrapper")
	run := func(cand configs.KernelSpec, i, n int) *results.Record {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		rec, err := Execute(ctx, Options{
			Baseline: configs.KernelSpec{Source: "debian:6.12"}, Candidate: cand,
			Expect: filepath.Join(series, "expect.yaml"), ShardIndex: i, ShardCount: n,
			Boot: vm.BootOptions{GuestBinary: agent, CacheDir: cache}, CacheDir: cache, OutDir: t.TempDir(),
		})
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		return rec
	}
	patched := configs.KernelSpec{Source: "debian:6.12", Patches: series}
	outcomes := func(r *results.Record) string {
		var b strings.Builder
		for _, k := range []results.KernelResult{r.Baseline, r.Candidate} {
			for _, res := range k.Run.Results {
				fmt.Fprintf(&b, "%s %s=%s\n", k.Role, res.ID, results.CaseOutcome(res))
			}
		}
		return b.String()
	}
	whole := run(patched, 0, 0)
	var shards []*results.Record
	for n := 1; n <= 3; n++ {
		var dirs []string
		for i := 1; i <= n; i++ {
			r := run(patched, i, n)
			dirs = append(dirs, r.Dir)
			shards = append(shards, r)
		}
		merged, err := Merge(context.Background(), dirs, t.TempDir())
		if err != nil {
			t.Fatalf("merge %d shards: %v", n, err)
		}
		if a, b := outcomes(whole), outcomes(merged); a != b {
			t.Errorf("%d shards merged differ from one run:\n%s\nvs\n%s", n, b, a)
		}
		if len(merged.Changes) != len(whole.Changes) || merged.Failed() != whole.Failed() || merged.Incomplete {
			t.Errorf("%d shards: %d changes (failed %v), one run %d (failed %v)", n, len(merged.Changes), merged.Failed(), len(whole.Changes), whole.Failed())
		}
		if err := schema.Record(merged); err != nil {
			t.Errorf("merged run.json does not validate: %v", err)
		}
	}
	// A shard whose candidate is another kernel (the stock one).
	other := run(configs.KernelSpec{Source: "debian:6.12"}, 2, 2)
	if _, err := Merge(context.Background(), []string{shards[1].Dir, other.Dir}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "different runs") {
		t.Errorf("a shard of another kernel merged: %v", err)
	}
}

// A run with --perf quick and the reference series' expect.yaml, which
// declares vmsplice's regressions, split into two shards and merged,
// finishes as the unsharded run does: the same verdict, the same
// undeclared regressions (none), the same declared ones, the same exit.
// (Merged shards once failed here: their perf changes were compared
// again but never marked as declared.)
func TestIntegrationShardsPerf(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	series := filepath.Join("..", "..", "..", "kernels", "patches", "vmsplice-wrapper")
	run := func(i, n int) *results.Record {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		o := Options{
			Baseline: configs.KernelSpec{Source: "debian:6.12"}, Candidate: configs.KernelSpec{Source: "debian:6.12", Patches: series},
			Expect: filepath.Join(series, "expect.yaml"), ShardIndex: i, ShardCount: n,
			Patterns:   []string{"vmsplice/*"},
			Benchmarks: []string{"vmsplice/*", "write/pipe-devnull/*"},
			PerfClock:  vm.Instructions,
			Boot:       vm.BootOptions{GuestBinary: agent, CacheDir: cache, Accel: vm.TCG}, CacheDir: cache, OutDir: t.TempDir(),
		}
		o.setPerf(perf.Quick, 0, 0)
		rec, err := Execute(ctx, o)
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		return rec
	}
	perfChanges := func(r *results.Record) (declared, undeclared []string) {
		if r.Perf == nil {
			t.Fatalf("%s has no perf result", r.Dir)
		}
		for _, c := range r.Perf.Changes {
			if !c.Significant() {
				continue
			}
			if c.Expected != "" {
				declared = append(declared, c.Bench+" "+c.Metric)
			}
		}
		for _, c := range r.Perf.Regressions {
			undeclared = append(undeclared, c.Bench+" "+c.Metric)
		}
		slices.Sort(declared)
		return declared, undeclared
	}
	whole := run(0, 0)
	wd, wu := perfChanges(whole)
	t.Logf("unsharded: failed %v, declared %v, undeclared %v", whole.Failed(), wd, wu)
	if len(wd) == 0 || len(wu) != 0 || whole.Failed() {
		t.Fatalf("the unsharded run: failed %v, declared changes %v, undeclared regressions %v; want declared changes only", whole.Failed(), wd, wu)
	}
	var dirs []string
	for i := 1; i <= 2; i++ {
		dirs = append(dirs, run(i, 2).Dir)
	}
	merged, err := Merge(context.Background(), dirs, t.TempDir())
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	md, mu := perfChanges(merged)
	t.Logf("merged: failed %v, declared %v, undeclared %v", merged.Failed(), md, mu)
	if merged.Failed() != whole.Failed() || !slices.Equal(md, wd) || len(mu) != 0 {
		t.Errorf("merged shards: failed %v, declared %v, undeclared %v; unsharded: failed %v, declared %v", merged.Failed(), md, mu, whole.Failed(), wd)
	}
	if (merged.Verdict == nil) != (whole.Verdict == nil) || merged.Verdict != nil && (len(merged.Verdict.Unexpected) != len(whole.Verdict.Unexpected) || len(merged.Verdict.Unmet) != len(whole.Verdict.Unmet)) {
		t.Errorf("verdicts differ: merged %+v, unsharded %+v", merged.Verdict, whole.Verdict)
	}
	if err := schema.Record(merged); err != nil {
		t.Errorf("merged run.json does not validate: %v", err)
	}
}
