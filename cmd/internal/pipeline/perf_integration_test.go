package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// A kernel whose only change is a fixed 80 µs in every sendfile() call
// (testdata/faults/slowsendfile), measured against stock with the quick
// level's benchmarks under the instruction clock: the run fails, and its
// regressions name sendfile's benchmark and no other of the fifteen.
//
// The quick level as it is: its cpu-s/GiB rises by 5.2 %. When each
// worker's first samples counted and the level took 2 batches of 6, the
// TCP paths' CPU spread 2–3 % and this run failed in only two of six; with
// two samples settled per worker and 4 batches of 3 it spreads under
// 1 %, and two runs of two gave p < 0.001 (README, Performance).
func TestIntegrationPerfFixedCost(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	o := Options{
		Baseline:   configs.KernelSpec{Source: "debian:6.12"},
		Candidate:  configs.KernelSpec{Source: "debian:6.12", Patches: filepath.Join("testdata", "faults", "slowsendfile")},
		SkipSuites: true,
		PerfClock:  vm.Instructions,
		// The instruction clock is TCG's: auto would measure real time
		// on a host with working KVM.
		Boot:     vm.BootOptions{GuestBinary: agent, CacheDir: cache, Accel: vm.TCG},
		CacheDir: cache,
		OutDir:   t.TempDir(),
	}
	o.setPerf(perf.Quick, 0, 0)
	rec, err := Execute(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	p := rec.Perf
	t.Logf("perf took %v (run %v)\n%s", p.Run.Wall.Round(time.Second), time.Since(start).Round(time.Second), results.PerfTable(p.Changes))
	if !p.Run.Counted() || p.Run.Level.Batch == 0 {
		t.Errorf("clocks %q %q, level %+v: want both counting instructions, in batches", p.Run.Boots[0].Clock, p.Run.Boots[1].Clock, p.Run.Level)
	}
	if p.FailPct != 1.5 {
		t.Errorf("fail threshold %v%%, want 1.5 counting instructions", p.FailPct)
	}
	var named []string
	for _, c := range p.Regressions {
		named = append(named, c.Bench+" "+c.Metric)
		if !strings.HasPrefix(c.Bench, "sendfile/") {
			t.Errorf("regression in %s %s (%+.1f%%, p=%.2g): only sendfile() changed", c.Bench, c.Metric, c.ChangePct, c.P)
		}
	}
	if len(named) == 0 {
		t.Errorf("no regression fails the run")
	}
	t.Logf("regressions: %v", named)
	if !rec.Failed() {
		t.Error("the run did not fail")
	}
	if err := rec.Validate(); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
}
