// Package pipeline runs patchtest's plan for a stock-versus-candidate
// run: configs → kernels (resolve or build both) → vm (boot) → suites
// (the catalogue through suites/remote, then the A/B benchmarks) →
// results (the record, the diff, the reports, the index). It owns the
// policy between them: what is checked before anything is built, which
// failures are the kernel's findings and which the harness's, how a run
// that is interrupted is still written. It sits above every other
// package; cmd/patchtest's run and perf only fill its Options.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/kconfig"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/vm"
)

// Options configure a stock-versus-candidate run.
type Options struct {
	Baseline, Candidate results.KernelSpec
	Patterns            []string
	// Expect is the candidate series' expect.yaml; none when empty.
	Expect string
	// Boot is the template for both boots; its Kernel and ModulesDir are
	// set per side.
	Boot     vm.BootOptions
	CacheDir string
	// OutDir receives one folder per run.
	OutDir string
	// Events receives the run's event stream (see results.Event); the stream is
	// also kept in the run's folder as events.jsonl.
	Events func(results.Event)

	// SkipSuites leaves the correctness catalogue out (a perf-only run).
	SkipSuites bool
	// Perf is the perf level; no perf run when its Name is empty.
	Perf perf.Level
	// Benchmarks select benchmarks (globs); all of the level's when empty.
	Benchmarks []string
	PerfStats  results.PerfStats
	// PerfFailPct is the size in percent from which an undeclared
	// significant regression fails the run; 5 when zero.
	PerfFailPct float64
	// RequireKVM refuses to measure perf under emulation.
	RequireKVM bool
	// Jobs is how many machines may run at once: from 2 the two kernels
	// run side by side, each over Jobs/2 machines. 1 when zero.
	Jobs int
	// Null marks a run of one kernel as both sides (a host self-check).
	Null bool
}

// Execute builds or finds both kernels, runs the suites on each, diffs
// the observations and writes the record into a new folder of OutDir.
// A kernel that misbehaves is a finding in the record, never an error;
// the error is the host's or the harness's, or the run's interruption
// (vm.Interrupted), and even then what was done is written, marked
// incomplete.
func Execute(ctx context.Context, o Options) (*results.Record, error) {
	rec := results.NewRecord(o.Expect)
	said := map[string]bool{}
	var mu sync.Mutex
	emit := func(e results.Event) {
		if e.Kind == results.EventNotice {
			// A notice (KVM's fallback, say) is told once per run, not
			// once per boot.
			mu.Lock()
			dup := said[e.Msg]
			said[e.Msg] = true
			mu.Unlock()
			if dup {
				return
			}
		}
		e = rec.Log(e)
		if o.Events != nil {
			o.Events(e)
		}
	}
	progress := func(msg string) { emit(results.Event{Kind: results.EventNotice, Msg: msg}) }
	expect, err := checkInputs(o)
	if err != nil {
		return nil, err
	}
	if o.Boot.GuestBinary == "" {
		if o.Boot.GuestBinary, err = build.FromSource(ctx, o.CacheDir); err != nil {
			return nil, &vm.Error{Outcome: vm.Infrastructure, Msg: "guest binary", Err: err}
		}
	}
	sides := []*results.KernelResult{{Role: results.Baseline, Spec: o.Baseline}, {Role: results.Candidate, Spec: o.Candidate}}
	boots := make([]vm.BootOptions, len(sides))
	kcfgs := make([]*kconfig.Config, len(sides))
	for i, side := range sides {
		builder := &kernels.Builder{CacheDir: o.CacheDir, Progress: func(msg string) {
			emit(results.Event{Kind: results.EventBuild, Side: side.Role, Msg: msg})
		}}
		modules, err := resolve(ctx, builder, side, o.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("%s kernel: %w", side.Role, err)
		}
		emit(results.Event{Kind: results.EventBuilt, Side: side.Role, Msg: "kernel " + side.BzImage})
		boots[i] = o.Boot
		boots[i].Kernel = side.BzImage
		if modules != "" {
			boots[i].ModulesDir = modules
		}
		// What the kernel can report, and whether it can host the agent,
		// before it boots.
		if kcfgs[i], err = assess(side, boots[i].ModulesDir != ""); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: side.Role + " kernel", Err: err}
		}
		for _, l := range side.Capabilities.Limits {
			progress(fmt.Sprintf("%s kernel: %s", side.Role, l))
		}
	}
	var runErr error
	if o.SkipSuites {
		for _, side := range sides {
			side.Run = &results.SuiteRun{}
		}
	} else {
		// With --jobs 2 or more the kernels run side by side, and each
		// kernel's cases are split over jobs/2 machines.
		jobs := max(o.Jobs, 1)
		errs := make([]error, len(sides))
		var wg sync.WaitGroup
		for i, side := range sides {
			if jobs == 1 {
				errs[i] = runSide(ctx, o, side, boots[i], 1, emit)
				continue
			}
			wg.Go(func() { errs[i] = runSide(ctx, o, side, boots[i], max(jobs/2, 1), emit) })
		}
		wg.Wait()
		runErr = errors.Join(errs...)
	}
	rec.Baseline, rec.Candidate = *sides[0], *sides[1]
	rec.Changes = results.Diff(rec.Baseline.Run.Results, rec.Candidate.Run.Results)
	rec.NotComparable = results.NotComparable(rec.Baseline.Run.Results, rec.Candidate.Run.Results)
	rec.Mismatch = results.CompareKernels(&rec.Baseline, &rec.Candidate, kcfgs[0], kcfgs[1])
	if expect != nil && !o.SkipSuites {
		v := expect.Check(rec.Changes, results.Compared(rec.Baseline.Run.Results, rec.Candidate.Run.Results))
		rec.Verdict = &v
	}
	// A perf run that cannot be done is the harness's failure, but the
	// correctness results are written first: nothing done is lost.
	var perfErr error
	if o.Perf.Name != "" && runErr == nil {
		if s := rec.Candidate.Summary; len(s.Crashes)+len(s.Hangs) > 0 || len(rec.Candidate.Run.Failures) > 0 {
			progress("no perf run: the candidate kernel crashed or hung in the suites")
		} else {
			perfErr = runPerf(ctx, o, boots, expect, rec, emit)
		}
	}
	rec.Incomplete = runErr != nil || ctx.Err() != nil
	rec.Finished = time.Now().UTC()
	verdict := "only expected changes, no problems"
	if rec.Failed() {
		verdict = "needs a look"
	}
	if rec.Incomplete {
		verdict += " (incomplete)"
	}
	emit(results.Event{Kind: results.EventFinished, Msg: fmt.Sprintf("finished in %v: %s", rec.Finished.Sub(rec.Started).Round(time.Second), verdict)})
	if o.OutDir != "" {
		if err := rec.Write(o.OutDir); err != nil {
			return rec, errors.Join(runErr, err)
		}
		// The index is derived from run.json; failing to update it
		// loses nothing (patchtest results reindex rebuilds it). An
		// interrupted run is still indexed.
		if err := indexRun(context.WithoutCancel(ctx), o.OutDir, rec); err != nil {
			emit(results.Event{Kind: results.EventIndexFail, Msg: fmt.Sprintf("results index not updated: %v (patchtest results reindex rebuilds it)", err)})
		}
	}
	if runErr != nil {
		return rec, runErr
	}
	return rec, perfErr
}

// checkInputs checks everything a run is given before anything is built
// or booted: the expectations, the selections, the kernels and series
// named. It returns the loaded expectations.
func checkInputs(o Options) (*results.Expect, error) {
	var expect *results.Expect
	if o.Expect != "" {
		var err error
		if expect, err = results.LoadExpect(o.Expect); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "expectations", Err: err}
		}
		if err := expect.CheckCatalogue(suites.Catalogue()); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "expectations " + o.Expect, Err: err}
		}
	}
	if !o.SkipSuites {
		if _, err := suites.Catalogue().Select(o.Patterns...); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "case selection", Err: err}
		}
	}
	if o.Perf.Name != "" {
		if _, err := perf.Select(o.Perf, o.Benchmarks...); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "benchmark selection", Err: err}
		}
	}
	for _, k := range []struct {
		role string
		spec results.KernelSpec
	}{{results.Baseline, o.Baseline}, {results.Candidate, o.Candidate}} {
		if p := k.spec.Path; p != "" && !strings.HasPrefix(p, "debian:") {
			if _, err := vm.InspectKernel(p); err != nil {
				return nil, fmt.Errorf("%s kernel: %w", k.role, err)
			}
		}
		if p := k.spec.Patches; p != "" {
			if _, err := os.Stat(p); err != nil {
				return nil, &vm.Error{Outcome: vm.MissingFile, Msg: fmt.Sprintf("%s series %s: give a directory of .patch files or an mbox", k.role, p), Err: err}
			}
		}
	}
	return expect, nil
}

// assess reads side's kernel configuration and says what the kernel can
// report; the error says it cannot host the agent at all.
func assess(side *results.KernelResult, modules bool) (*kconfig.Config, error) {
	buildConfig := ""
	if side.Build != nil {
		buildConfig = side.Build.Config
	}
	cfg, err := kconfig.ConfigFor(side.BzImage, buildConfig)
	if err != nil {
		return nil, err
	}
	caps, err := kconfig.Assess(cfg, modules, side.BzImage)
	side.Capabilities = &caps
	return cfg, err
}

func indexRun(ctx context.Context, dir string, rec *results.Record) error {
	x, err := results.OpenIndex(dir)
	if err != nil {
		return err
	}
	defer x.Close()
	return x.Add(ctx, rec)
}

// resolve finds or builds side's kernel and returns the modules tree a
// given kernel comes with (a debian: package's), if any.
func resolve(ctx context.Context, b *kernels.Builder, side *results.KernelResult, cacheDir string) (modules string, err error) {
	if side.Spec.Path != "" {
		k, err := kernels.Resolve(ctx, side.Spec.Path, cacheDir)
		if err != nil {
			return "", err
		}
		side.BzImage = k.Kernel
		return k.Modules, nil
	}
	bld, err := b.Build(ctx, buildRequest(side.Spec))
	if err != nil {
		return "", err
	}
	side.Build, side.BzImage = bld, bld.BzImage
	return "", nil
}

// buildRequest is what the builder is asked for a built kernel.
func buildRequest(k results.KernelSpec) kernels.Request {
	return kernels.Request{Source: k.Source, Patches: k.Patches, Base: k.Base, Fragments: k.Fragments}
}

// FromConfig turns a run configuration into Options. Relative paths in it
// (patches, expect, out) are taken relative to dir. When no expect file is
// named, the candidate series' own expect.yaml is used if it has one.
func FromConfig(cfg *configs.Run, dir string) Options {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, ":") {
			return p
		}
		return filepath.Join(dir, p)
	}
	spec := func(k configs.KernelSpec) results.KernelSpec {
		if k.Path != "" {
			if !strings.Contains(k.Path, ":") {
				k.Path = abs(k.Path)
			}
			return k
		}
		return results.KernelSpec{Source: k.Source, Patches: abs(k.Patches), Base: cfg.Config.Base, Fragments: cfg.Config.Fragments}
	}
	o := Options{
		Baseline:  spec(cfg.Kernels.Baseline),
		Candidate: spec(cfg.Kernels.Candidate),
		Patterns:  cfg.Suites,
		Expect:    abs(cfg.Expect),
		OutDir:    cfg.Out,
		Jobs:      cfg.QEMU.Jobs,
	}
	if l, err := perf.ParseLevel(cfg.Perf.Level); err == nil {
		o.Perf = l
		if cfg.Perf.Rounds > 0 {
			o.Perf.Rounds = cfg.Perf.Rounds
		}
		if cfg.Perf.SampleTime > 0 {
			o.Perf.Duration = cfg.Perf.SampleTime
		}
	}
	o.Benchmarks = cfg.Perf.Benchmarks
	o.PerfStats = results.PerfStats{Alpha: cfg.Perf.Alpha, Threshold: cfg.Perf.ThresholdPct}
	o.PerfFailPct = cfg.Perf.FailPct
	o.RequireKVM = cfg.Perf.RequireKVM
	o.DefaultExpect()
	return o
}

// DefaultExpect sets Expect to the candidate series' expect.yaml when none
// is set and the series has one.
func (o *Options) DefaultExpect() {
	if o.Expect != "" || o.Candidate.Patches == "" {
		return
	}
	if p := filepath.Join(o.Candidate.Patches, "expect.yaml"); fileExists(p) {
		o.Expect = p
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// runPerf measures both kernels side by side and compares them.
func runPerf(ctx context.Context, o Options, boots []vm.BootOptions, expect *results.Expect, rec *results.Record, emit func(results.Event)) error {
	progress := func(msg string) { emit(results.Event{Kind: results.EventNotice, Msg: msg}) }
	benches, _ := perf.Select(o.Perf, o.Benchmarks...)
	total := 2 * len(benches) * (o.Perf.Rounds + o.Perf.Warmup)
	emit(results.Event{Kind: results.EventPerf, Total: total, Msg: o.Perf.Name})
	done := 0
	for i, role := range []string{results.Baseline, results.Candidate} {
		boots[i].Events = machineEvents(role, o.Boot.Events, emit)
	}
	po := remote.PerfOptions{
		Baseline: boots[0], Candidate: boots[1], Level: o.Perf, Patterns: o.Benchmarks,
		RequireKVM: o.RequireKVM, Notice: progress,
		OnSample: func(s results.PerfSample) {
			done++
			emit(results.Event{Kind: results.EventSample, Side: s.Side, ID: s.ID, Done: done, Total: total})
		},
	}
	run, err := remote.RunPerf(ctx, po)
	res := &results.PerfResult{Run: run, Stats: o.PerfStats.WithDefaults(), FailPct: o.PerfFailPct, Null: o.Null}
	if res.FailPct == 0 {
		res.FailPct = 5
	}
	if err != nil {
		// A kernel failing under a benchmark is a finding, whichever
		// side it is; anything else means the run could not be done.
		var se *remote.SideError
		if run == nil || !errors.As(err, &se) || !vm.OutcomeOf(err).KernelFault() {
			if run == nil {
				run = &results.PerfRun{Level: o.Perf}
			}
			res.Run = run
			res.Error = "perf run not completed (harness): " + firstLine(err.Error())
			res.Changes = results.ComparePerf(run, res.Stats)
			rec.Perf = res
			return fmt.Errorf("perf: %w", err)
		}
		progress(fmt.Sprintf("perf ended early: the %s kernel failed: %v", se.Side, err))
		res.Error = firstLine(err.Error())
		res.CandidateFault = se.Side == results.Candidate
		res.BaselineFault = se.Side == results.Baseline
	}
	res.Changes = results.ComparePerf(run, res.Stats)
	if expect != nil {
		results.MarkExpected(res.Changes, expect.Perf)
	}
	res.Regressions = results.PerfRegressions(res.Changes, res.FailPct, res.Stats.Alpha)
	rec.Perf = res
	return nil
}

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
	onResult := func(r suites.CaseResult) {
		mu.Lock()
		done++
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
			emit(results.Event{Kind: results.EventProblem, Side: side.Role, ID: r.ID, Msg: "kernel log: " + results.Headline(r.Kmsg)})
		}
	}
	notice := func(msg string) { emit(results.Event{Kind: results.EventNotice, Side: side.Role, Msg: msg}) }
	shards = max(min(shards, len(cases)), 1)
	runs := make([]*results.SuiteRun, shards)
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for i := range shards {
		// Every shards-th case, so that slow groups spread out.
		var ids []string
		for j := i; j < len(cases); j += shards {
			ids = append(ids, cases[j].ID)
		}
		patterns := o.Patterns
		if shards > 1 {
			patterns = ids
		}
		wg.Go(func() {
			runs[i], errs[i] = remote.RunSuites(ctx, remote.Options{Boot: boot, Patterns: patterns, Notice: notice, OnResult: onResult})
		})
	}
	wg.Wait()
	side.Run = mergeRuns(cases, runs)
	side.Summary = results.Summarize(side.Run)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s kernel: %w", side.Role, err)
	}
	return nil
}

// mergeRuns joins the shards' runs, results in catalogue order.
func mergeRuns(cases []*suites.Case, runs []*results.SuiteRun) *results.SuiteRun {
	out := &results.SuiteRun{}
	byID := map[string]suites.CaseResult{}
	for _, r := range runs {
		if r == nil {
			continue
		}
		if out.Release == "" {
			out.Release = r.Release
		}
		out.Boots = append(out.Boots, r.Boots...)
		out.Crashes += r.Crashes
		out.Hangs += r.Hangs
		for _, t := range r.BootReports {
			if !slices.Contains(out.BootReports, t) {
				out.BootReports = append(out.BootReports, t)
			}
		}
		out.Failures = append(out.Failures, r.Failures...)
		out.Incomplete = out.Incomplete || r.Incomplete
		out.Budget = max(out.Budget, r.Budget)
		out.GuestTime += r.GuestTime
		out.Wall = max(out.Wall, r.Wall)
		for _, res := range r.Results {
			byID[res.ID] = res
		}
	}
	for _, c := range cases {
		if res, ok := byID[c.ID]; ok {
			out.Results = append(out.Results, res)
		}
	}
	return out
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
