package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/console"
	"github.com/patchtest/patchtest/vm/fault"
)

// machineEvents turns a machine's events into the run's: a notice (the
// accelerator fallback) and readiness; next, when set, still gets them all.
func machineEvents(side string, next func(vm.Event), emit func(results.Event)) func(vm.Event) {
	return func(e vm.Event) {
		switch e.Kind {
		case vm.EventNotice:
			emit(results.Event{Kind: results.EventNotice, Side: side, Msg: e.Msg})
		case vm.EventStarted:
			emit(results.Event{Kind: results.EventBoot, Side: side, Msg: "QEMU started"})
		case vm.EventReady:
			emit(results.Event{Kind: results.EventReady, Side: side, Msg: "agent ready"})
		}
		if next != nil && e.Kind != vm.EventNotice {
			next(e)
		}
	}
}

// runSide runs the selected cases on one kernel, split over shards
// machines, and records the run and its problems in side. The kernel's
// misbehaviour is in the record; the error is the harness's, or the
// run's interruption, and side holds what was done before it.
func runSide(ctx context.Context, o Options, side *results.KernelResult, boot vm.BootOptions, shards int, emit func(results.Event)) error {
	cases, _ := suites.Catalogue().Select(o.Patterns...)
	emit(results.Event{Kind: results.EventSuites, Side: side.Role, Total: len(cases)})
	var mu sync.Mutex
	done := 0
	boot.Events = machineEvents(side.Role, o.Boot.Events, emit)
	var ids []string
	planned := map[string]bool{}
	for _, c := range cases {
		ids = append(ids, c.ID)
		planned[c.ID] = true
	}
	onResult := func(r suites.CaseResult) {
		mu.Lock()
		if planned[r.ID] { // a peer case's subtests do not count
			done++
		}
		n := done
		mu.Unlock()
		emit(results.Event{Kind: results.EventCase, Side: side.Role, ID: r.ID, Done: n, Total: len(cases), Msg: results.CaseOutcome(r)})
		switch {
		case r.NotRun != "":
		case r.Crash != "":
			emit(results.Event{Kind: results.EventCrash, Side: side.Role, ID: r.ID, Msg: firstLine(r.Crash)})
		case len(r.Invariant) > 0:
			emit(results.Event{Kind: results.EventProblem, Side: side.Role, ID: r.ID, Msg: "invariant failed: " + r.Invariant[0]})
		case r.Hung():
			emit(results.Event{Kind: results.EventProblem, Side: side.Role, ID: r.ID, Msg: r.Error + "; " + firstLine(r.Hang)})
		case len(r.Kmsg) > 0:
			emit(results.Event{Kind: results.EventProblem, Side: side.Role, ID: r.ID, Msg: "kernel log: " + console.Headline(r.Kmsg)})
		}
	}
	notice := func(msg string) { emit(results.Event{Kind: results.EventNotice, Side: side.Role, Msg: msg}) }
	// A counted peer suite's cases (stress-ng's stressors) run in a guest
	// of their own whose time counts instructions (the benchmarks'
	// clock): their figures then compare across kernels, as real time
	// under TCG does not.
	var rest, stress []string
	for _, c := range cases {
		if p, ok := suites.PeerOf(c.ID); ok && p.Counted {
			stress = append(stress, c.ID)
		} else {
			rest = append(rest, c.ID)
		}
	}
	shards = max(min(shards, len(rest)), 1)
	runs := make([]*runs.Suite, shards+1)
	errs := make([]error, shards+1)
	var wg sync.WaitGroup
	for i := range shards {
		if len(rest) == 0 {
			break
		}
		// Every shards-th case, so that slow groups spread out.
		var ids []string
		for j := i; j < len(rest); j += shards {
			ids = append(ids, rest[j])
		}
		patterns := o.Patterns
		if shards > 1 || len(stress) > 0 {
			patterns = ids
		}
		wg.Go(func() {
			runs[i], errs[i] = remote.RunSuites(ctx, remote.Options{Boot: boot, Patterns: patterns, Notice: notice, OnResult: onResult})
		})
	}
	if len(stress) > 0 {
		sb := boot
		sb.Clock = o.PerfClock
		if sb.Clock == "" {
			sb.Clock = vm.Instructions
		}
		wg.Go(func() {
			runs[shards], errs[shards] = remote.RunSuites(ctx, remote.Options{Boot: sb, Patterns: stress, Notice: notice, OnResult: onResult})
		})
	}
	wg.Wait()
	// Each guest ran its own cases: the parts cannot overlap.
	merged, err := results.MergeSuiteRuns(ids, runs, nil)
	if err != nil {
		return fault.OnSide(side.Role, err)
	}
	side.Run = merged
	side.Summary = results.Summarize(side.Run, console.Headline)
	if err := errors.Join(errs...); err != nil {
		return fault.OnSide(side.Role, err)
	}
	return nil
}
