package remote_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// These tests build (or take from the cache) the project's stock and
// vmsplice-wrapper 6.12 kernels, run the whole catalogue on both under
// QEMU, and check that the observations that changed are exactly the ones
// the series' expect.yaml declares. -short skips them.

const series = "../../kernels/patches/vmsplice-wrapper"

func runOn(t *testing.T, req kernels.Request) *runs.Suite {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	boot := perfBoot(t, req)
	run, err := remote.RunSuites(ctx, remote.Options{
		Boot:   boot,
		Notice: func(s string) { t.Log(s) },
	})
	if err != nil {
		t.Fatalf("run suites on %s: %v", boot.Kernel, err)
	}
	t.Logf("%s: %d cases, %v guest time, %v wall, %d crashes", run.Release, len(run.Results), run.GuestTime, run.Wall, run.Crashes)
	return run
}

func TestIntegrationCatalogueStockVsPatched(t *testing.T) {
	vmtest.Integration(t)
	stock := runOn(t, kernels.Request{})
	patched := runOn(t, kernels.Request{Patches: series})

	visible, _ := suites.Catalogue().Select()
	want := len(visible)
	for name, run := range map[string]*runs.Suite{"stock": stock, "patched": patched} {
		if len(run.Results) != want {
			t.Errorf("%s: %d results; want %d", name, len(run.Results), want)
		}
		for _, r := range run.Results {
			if r.Error != "" || r.Crash != "" || len(r.Invariant) > 0 {
				t.Errorf("%s: %s: error %q crash %q invariant %q", name, r.ID, r.Error, r.Crash, r.Invariant)
			}
			if r.Obs != nil && r.Obs.Type == suites.TSkip {
				t.Errorf("%s: %s skipped on the project's kernel: %s", name, r.ID, r.Obs.Value)
			}
		}
	}

	expect, err := results.LoadExpect(filepath.Join(series, "expect.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	changes := results.Diff(stock.Results, patched.Results)
	for _, c := range changes {
		t.Logf("changed: %s", c)
	}
	v := expect.Check(changes, results.Compared(stock.Results, patched.Results))
	for _, c := range v.Unexpected {
		t.Errorf("change not declared in expect.yaml: %s", c)
	}
	for _, x := range v.Unmet {
		t.Errorf("expect.yaml declares a change that did not happen: %s %s -> %s", x.Cases, x.From, x.To)
	}
}

// A case that panics the kernel is charged with the crash, the guest is
// booted again, and the cases after it still run.
func TestIntegrationCrashRecovery(t *testing.T) {
	vmtest.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cache := vmtest.CacheDir()
	img := vmtest.Debian(t, "6.12-amd64")
	agent := vmtest.Guest(t)
	var order []string
	run, err := remote.RunSuites(ctx, remote.Options{
		Boot:     vm.BootOptions{Kernel: img.Kernel, GuestBinary: agent, CacheDir: cache},
		Patterns: []string{"tee/data/*", "selftest/crash/*", "selftest/hang/*", "tee/errors/*"},
		OnResult: func(r suites.CaseResult) { order = append(order, r.ID) },
		Notice:   func(s string) { t.Log(s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Crashes != 1 || len(run.Boots) != 2 {
		t.Errorf("%d crashes, %d boots; want 1 and 2", run.Crashes, len(run.Boots))
	}
	byID := map[string]suites.CaseResult{}
	for _, r := range run.Results {
		byID[r.ID] = r
	}
	if r := byID["selftest/crash/sysrq"]; r.Crash == "" || !strings.Contains(r.Crash, "sysrq") {
		t.Errorf("crash not charged to its case: %+v", r)
	}
	if r := byID["selftest/hang/sleep"]; !strings.HasPrefix(r.Error, "hung") {
		t.Errorf("hanging case: %+v", r)
	}
	for _, id := range []string{"tee/data/equal", "tee/data/does-not-consume", "tee/errors/same-pipe", "tee/errors/not-a-pipe"} {
		if r, ok := byID[id]; !ok || r.Obs == nil {
			t.Errorf("%s: no observation (%+v); results in order %v", id, r, order)
		}
	}
}

// The catalogue's observations do not depend on host load: the stock
// kernel gives the same outcome for every case with the host idle and
// with every host CPU kept busy, since whether a call blocked is decided
// from the kernel's state of its thread, not from elapsed time.
func TestIntegrationCatalogueUnderLoad(t *testing.T) {
	vmtest.Integration(t)
	idle := runOn(t, kernels.Request{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for x := 0; ; x++ {
				select {
				case <-stop:
					return
				default:
					if x%1024 == 0 {
						runtime.Gosched()
					}
				}
			}
		})
	}
	busy := runOn(t, kernels.Request{})
	close(stop)
	wg.Wait()
	// Every case's whole outcome, compared directly: results.Diff leaves
	// out a case not run, or skipped, on one side.
	a, b := caseOutcomes(idle.Results), caseOutcomes(busy.Results)
	if len(a) == 0 || len(a) != len(idle.Results) || len(b) != len(busy.Results) {
		t.Errorf("%d results idle (%d cases), %d busy (%d cases)", len(idle.Results), len(a), len(busy.Results), len(b))
	}
	for id, o := range a {
		if o != b[id] {
			t.Errorf("%s: %q idle, %q busy", id, o, b[id])
		}
		if strings.HasPrefix(o, "not run") || strings.HasPrefix(o, "missing") || strings.HasPrefix(o, "crash") {
			t.Errorf("%s on the stock kernel, idle: %s", id, o)
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			t.Errorf("%s ran only busy: %q", id, b[id])
		}
	}
}

// caseOutcomes is each case's outcome, its invariant failures and hang
// included, by ID.
func caseOutcomes(rs []suites.CaseResult) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		o := results.CaseOutcome(r)
		if len(r.Invariant) > 0 {
			o += " invariant: " + strings.Join(r.Invariant, "; ")
		}
		if r.Hang != "" {
			o += " hung"
		}
		out[r.ID] = o
	}
	return out
}
