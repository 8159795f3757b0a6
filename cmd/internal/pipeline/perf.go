package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// failPct is the size of an undeclared regression that fails the run,
// for a run whose clocks counted instructions or not.
func (o Options) failPct(counted bool) float64 {
	d := configs.MustDefaults().Perf
	switch {
	case counted && o.PerfCountedFailPct > 0:
		return o.PerfCountedFailPct
	case counted:
		return d.CountedFailPct
	case o.PerfFailPct > 0:
		return o.PerfFailPct
	}
	return d.FailPct
}

// runPerf measures both kernels side by side and compares them.
func runPerf(ctx context.Context, o Options, boots []vm.BootOptions, expect *results.Expect, rec *results.Record, emit func(results.Event)) error {
	res, err := measurePerf(ctx, o, boots, expect, emit)
	rec.Perf = res
	return err
}

// measurePerf measures boots[0] against boots[1]. A kernel failing under
// a benchmark is in the result; the error is the harness's.
func measurePerf(ctx context.Context, o Options, boots []vm.BootOptions, expect *results.Expect, emit func(results.Event)) (*results.PerfResult, error) {
	progress := func(msg string) { emit(results.Event{Kind: results.EventNotice, Msg: msg}) }
	done, total := 0, 0
	for i, role := range []string{runs.Baseline, runs.Candidate} {
		boots[i].Events = machineEvents(role, o.Boot.Events, emit)
	}
	po := remote.PerfOptions{
		Baseline: boots[0], Candidate: boots[1], Level: o.Perf, Counted: o.PerfCounted, Patterns: o.Benchmarks,
		RequireKVM: o.RequireKVM, Clock: o.PerfClock, Notice: progress,
		OnStart: func(l perf.Level, benches int) {
			total = 2 * benches * l.Taken()
			emit(results.Event{Kind: results.EventPerf, Total: total, Msg: l.Name})
		},
		Undecided: func(run *runs.Perf) []string {
			return results.Undecided(run, o.PerfStats, o.failPct(run.Counted()))
		},
		OnExtend: func(samples int) { total += samples },
		OnSample: func(s runs.PerfSample) {
			done++
			emit(results.Event{Kind: results.EventSample, Side: s.Side, ID: s.ID, Done: done, Total: total})
		},
	}
	run, err := remote.RunPerf(ctx, po)
	res := &results.PerfResult{Run: run, Stats: o.PerfStats.WithDefaults(), FailPct: o.failPct(run.Counted()), Null: o.Null}
	if err != nil {
		// A kernel failing under a benchmark is a finding, whichever
		// side it is; anything else means the run could not be done.
		var se *remote.SideError
		if run == nil || !errors.As(err, &se) || !vm.OutcomeOf(err).KernelFault() {
			if run == nil {
				run = &runs.Perf{Level: o.Perf.Record()}
			}
			res.Run = run
			res.Error = "perf run not completed (harness): " + firstLine(err.Error())
			res.Analyse(expect)
			return res, fmt.Errorf("perf: %w", err)
		}
		progress(fmt.Sprintf("perf ended early: the %s kernel failed: %v", se.Side, err))
		res.Error = firstLine(err.Error())
		res.CandidateFault = se.Side == runs.Candidate
		res.BaselineFault = se.Side == runs.Baseline
	}
	res.Analyse(expect)
	return res, nil
}
