package pipeline

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// runFuzz fuzzes both kernels with the same programs for o.Fuzz and
// keeps the run, its differences and any kernel lost under a program,
// in rec. The corpus lives in the cache and grows from run to run. The
// error is the harness's; what was done is in rec.
func runFuzz(ctx context.Context, o Options, boots []vm.BootOptions, rec *results.Record, emit func(results.Event)) error {
	notice := func(msg string) { emit(results.Event{Kind: results.EventNotice, Msg: msg}) }
	seed := shardSeed(o.FuzzSeed, o.ShardIndex, o.ShardCount)
	notice(fmt.Sprintf("fuzzing both kernels for %v (seed %d)", o.Fuzz, seed))
	fo := remote.FuzzOptions{Baseline: boots[0], Candidate: boots[1], Duration: o.Fuzz, Seed: seed, Notice: notice}
	if o.CacheDir != "" {
		fo.CorpusFile = filepath.Join(o.CacheDir, "fuzz", "corpus.jsonl")
	}
	for i, role := range []string{runs.Baseline, runs.Candidate} {
		b := &fo.Baseline
		if i == 1 {
			b = &fo.Candidate
		}
		b.Events = machineEvents(role, o.Boot.Events, emit)
	}
	fr, err := remote.RunFuzz(ctx, fo)
	rec.Fuzz = fr
	if fr != nil {
		msg := fmt.Sprintf("fuzzing: %d programs (%.1f/s), %d difference(s), %d flaky", fr.Programs, fr.PerSecond, len(fr.Differences), fr.Flaky)
		if fr.Fault != nil {
			msg += fmt.Sprintf("; the %s kernel was lost under a program: %s", fr.Fault.Side, fr.Fault.Error)
		}
		notice(msg)
	}
	if err != nil {
		return fmt.Errorf("fuzzing: %w", err)
	}
	return nil
}

// shardSeed is the fuzzing seed of shard index of count: each shard runs
// programs of its own (the merged run adds them up), and an unsharded
// run (count 0) the seed as given.
func shardSeed(seed uint64, index, count int) uint64 {
	if count <= 0 {
		return seed
	}
	return seed*uint64(count) + uint64(index-1)
}
