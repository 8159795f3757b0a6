package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/results"
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
	run := func(cand results.KernelSpec, i, n int) *results.Record {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		rec, err := Execute(ctx, Options{
			Baseline: results.KernelSpec{Source: "debian:6.12"}, Candidate: cand,
			Expect: filepath.Join(series, "expect.yaml"), ShardIndex: i, ShardCount: n,
			Boot: vm.BootOptions{GuestBinary: agent, CacheDir: cache}, CacheDir: cache, OutDir: t.TempDir(),
		})
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		return rec
	}
	patched := results.KernelSpec{Source: "debian:6.12", Patches: series}
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
		if err := merged.Validate(); err != nil {
			t.Errorf("merged run.json does not validate: %v", err)
		}
	}
	// A shard whose candidate is another kernel (the stock one).
	other := run(results.KernelSpec{Source: "debian:6.12"}, 2, 2)
	if _, err := Merge(context.Background(), []string{shards[1].Dir, other.Dir}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "different runs") {
		t.Errorf("a shard of another kernel merged: %v", err)
	}
}
