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
	"cmp"
	"context"
	"errors"
	"fmt"
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
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/console"
	"github.com/patchtest/patchtest/vm/fault"
	"github.com/patchtest/patchtest/vm/setup"
)

// Options configure a stock-versus-candidate run.
type Options struct {
	Baseline, Candidate configs.KernelSpec
	Patterns            []string
	// Expect is the candidate series' expect.yaml; none when empty.
	Expect string
	// Boot is the template for both boots; its Kernel and ModulesDir are
	// set per side.
	Boot     vm.BootOptions
	CacheDir string
	// OutDir receives one folder per run.
	OutDir string
	// DashboardURL is where `patchtest serve` over OutDir is reached;
	// the run's outputs link to its page there. None when empty.
	DashboardURL string
	// Events receives the run's event stream (see results.Event); the stream is
	// also kept in the run's folder as events.jsonl.
	Events func(results.Event)

	// SkipSuites leaves the correctness catalogue out (a perf-only run).
	SkipSuites bool
	// Perf is the perf level; no perf run when its Name is empty.
	Perf perf.Level
	// PerfCounted is the level's shape when both machines count
	// instructions (perf.Level.Counted, with the same overrides).
	PerfCounted perf.Level
	// Benchmarks select benchmarks (globs); all of the level's when empty.
	Benchmarks []string
	PerfStats  results.PerfStats
	// PerfFailPct is the size in percent from which an undeclared
	// significant regression fails the run measured in real time, and
	// PerfCountedFailPct when both clocks counted instructions; the
	// built-in configuration's (5 and 2) when zero.
	PerfFailPct, PerfCountedFailPct float64
	// RequireKVM refuses to measure perf under emulation.
	RequireKVM bool
	// PerfClock is what guest time counts in the benchmarks under TCG.
	PerfClock vm.Clock
	// Jobs is how many machines may run at once: from 2 the two kernels
	// run side by side, each over Jobs/2 machines. 1 when zero.
	Jobs int
	// Null marks a run of one kernel as both sides (a host self-check).
	Null bool
	// NoInstall refuses to install the host packages the run lacks
	// (setup.Ensure), naming the command that would.
	NoInstall bool
	// SameTree makes the candidate's own kernel tree its baseline when
	// the candidate is a bzImage built in a git kernel tree (or Tree is
	// given): the tree at BaseRef, else at its base (kernels.FindBase),
	// built with the candidate's .config.
	SameTree bool
	Tree     string
	BaseRef  string
	// PerPatch runs the catalogue on the baseline and on every prefix of
	// the candidate's series, and attributes each change to its patch.
	PerPatch bool
	// Range is a git range, git:PATH@BASE..TIP: the candidate is the
	// range's commits as a series on BASE, the baseline BASE.
	Range string
	// ShardIndex/ShardCount run one shard of the run (1..ShardCount):
	// the selected cases and benchmarks whose stable hash falls in it
	// (results.ShardOf); none when ShardCount is 0.
	ShardIndex, ShardCount int
	// Peer are the peer suites to run beside the catalogue on both
	// kernels (suites.Peers: kselftest, stress-ng).
	Peer []string
	// PeerSource is the kernel source tree the kselftests are built
	// from; the candidate's own tree when empty.
	PeerSource string
	// Fuzz is how long to fuzz both kernels with the same programs after
	// the catalogue (no fuzzing when zero); FuzzSeed seeds the programs.
	Fuzz     time.Duration
	FuzzSeed uint64
}

// shardOf narrows o to its shard: the selected cases and benchmarks
// whose stable hash falls in it, given as explicit IDs; the suites or the
// benchmarks are left out where none does. It returns the manifest.
func shardOf(o *Options) *results.Shard {
	sh := &results.Shard{Index: o.ShardIndex, Count: o.ShardCount, Catalogue: results.CatalogueID(),
		Patterns: o.Patterns, Benchmarks: o.Benchmarks, PerfLevel: o.Perf.Name}
	cases, _ := suites.Catalogue().Select(o.Patterns...)
	var ids []string
	for _, c := range cases {
		if results.ShardOf(c.ID, o.ShardCount) == o.ShardIndex {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		o.SkipSuites = true
	}
	o.Patterns = ids
	if o.Perf.Name != "" {
		benches, _ := perf.Select(o.Perf, o.Benchmarks...)
		var bs []string
		for _, b := range benches {
			if results.ShardOf(b.ID, o.ShardCount) == o.ShardIndex {
				bs = append(bs, b.ID)
			}
		}
		if len(bs) == 0 {
			o.Perf = perf.Level{}
		}
		o.Benchmarks = bs
	}
	return sh
}

// bringUp finds or builds side's kernel and says, before it boots, what
// it can report: it returns the kernel's boot options and configuration.
func bringUp(ctx context.Context, o Options, side *results.KernelResult, emit func(results.Event)) (vm.BootOptions, *kconfig.Config, error) {
	builder := &kernels.Builder{CacheDir: o.CacheDir, Progress: func(msg string) {
		emit(results.Event{Kind: results.EventBuild, Side: side.Role, Msg: msg})
	}}
	modules, err := resolve(ctx, builder, side, o.CacheDir)
	if err != nil {
		return vm.BootOptions{}, nil, fault.OnSide(side.Role, err)
	}
	emit(results.Event{Kind: results.EventBuilt, Side: side.Role, Msg: "kernel " + side.BzImage})
	boot := o.Boot
	boot.Kernel = side.BzImage
	if modules != "" {
		boot.ModulesDir = modules
	}
	// What the kernel can report, and whether it can host the agent,
	// before it boots.
	kcfg, err := assess(side, boot.ModulesDir != "")
	if err != nil {
		return vm.BootOptions{}, nil, &vm.Error{Outcome: vm.BadInput, Msg: side.Role + " kernel", Err: err}
	}
	for _, l := range side.Capabilities.Limits {
		emit(results.Event{Kind: results.EventNotice, Msg: fmt.Sprintf("%s kernel: %s", side.Role, l)})
	}
	return boot, kcfg, nil
}

// Execute builds or finds both kernels, runs the suites on each, diffs
// the observations and writes the record into a new folder of OutDir.
// A kernel that misbehaves is a finding in the record, never an error;
// the error is the host's or the harness's, or the run's interruption
// (vm.Interrupted), and even then what was done is written, marked
// incomplete.
func Execute(ctx context.Context, o Options) (*results.Record, error) {
	rec, _, err := execute(ctx, o)
	return rec, err
}

// resolved is what a run ran with once its inputs were resolved: its
// options completed (the guest binary built, the peer suites prepared,
// the shard narrowed) and each side's boot options (kernel, modules,
// guest binary). Whatever repeats a run (a night's re-runs) starts from
// these, never from the options the run was given.
type resolved struct {
	o Options
	// boots are the baseline's and the candidate's boot options; nil
	// when the run stopped before both were brought up.
	boots []vm.BootOptions
}

// execute is Execute, returning the run's resolved inputs as well.
func execute(ctx context.Context, o Options) (*results.Record, *resolved, error) {
	if o.CacheDir == "" {
		// Never a relative cache: the kernel builder runs tools from
		// inside its trees, where a relative path names nothing.
		o.CacheDir = cmp.Or(o.Boot.CacheDir, vm.DefaultCacheDir())
	}
	rec := results.NewRecord(o.Expect)
	rec.Dashboard = o.DashboardURL
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
	if o.SameTree {
		if err := sameTree(ctx, &o, rec, progress); err != nil {
			return nil, nil, err
		}
	}
	if o.Range != "" {
		if err := fromRange(ctx, &o); err != nil {
			return nil, nil, err
		}
	}
	if err := peerSelect(&o); err != nil {
		return nil, nil, err
	}
	expect, err := checkInputs(o)
	if err != nil {
		return nil, nil, err
	}
	if err := peerSourceCheck(o); err != nil {
		return nil, nil, err
	}
	if o.ShardCount > 0 {
		rec.Shard = shardOf(&o)
	}
	if err := hostSetup(ctx, o, progress); err != nil {
		return nil, nil, err
	}
	if o.Boot.GuestBinary == "" {
		if o.Boot.GuestBinary, _, err = build.Agent(ctx, o.CacheDir); err != nil {
			return nil, nil, &vm.Error{Outcome: vm.Infrastructure, Msg: "guest binary", Err: err}
		}
	}
	if !o.SkipSuites {
		if err := preparePeers(ctx, &o, emit); err != nil {
			return nil, nil, err
		}
	}
	sides := []*results.KernelResult{{Role: runs.Baseline, Spec: describeSpec(o.Baseline)}, {Role: runs.Candidate, Spec: describeSpec(o.Candidate)}}
	boots := make([]vm.BootOptions, len(sides))
	kcfgs := make([]*kconfig.Config, len(sides))
	// A harness failure or an interruption part way is written with what
	// was done (runErr); so is a perf run that could not be done (perfErr).
	var runErr, perfErr error
	if o.PerPatch {
		// The baseline and each prefix of the series, one after another;
		// the candidate is the longest prefix that ran.
		if boots[0], kcfgs[0], err = bringUp(ctx, o, sides[0], emit); err != nil {
			return nil, nil, err
		}
		if runErr = runSide(ctx, o, sides[0], boots[0], 1, emit); runErr == nil {
			var pp *perPatchRun
			if pp, runErr = perPatch(ctx, o, sides[0], emit); pp == nil {
				return nil, nil, runErr // the series cannot be read: bad input
			}
			if runErr == nil && o.Perf.Name != "" {
				perfErr = pp.perfBetween(ctx, o, boots[0], expect, emit)
			}
			rec.PerPatch = &pp.PerPatch
			sides[1], boots[1], kcfgs[1] = pp.last, pp.lastBoot, pp.lastConfig
		}
	} else {
		for i, side := range sides {
			if boots[i], kcfgs[i], err = bringUp(ctx, o, side, emit); err != nil {
				return nil, nil, err
			}
		}
	}
	if rec.Shard != nil {
		rec.Shard.Kernels = []string{results.KernelID(sides[0]), results.KernelID(sides[1])}
	}
	if o.SkipSuites || o.PerPatch { // per patch, every kernel has run its cases
		for _, side := range sides {
			if side.Run == nil {
				side.Run = &runs.Suite{}
			}
		}
	} else {
		// With --jobs 2 or more the kernels run side by side, and each
		// kernel's cases are split over jobs/2 machines.
		jobs := max(o.Jobs, 1)
		// A counted peer suite's guests (stress-ng's) count instructions,
		// so their figures do not depend on the host's load: the kernels
		// run side by side then, whatever jobs says, which hides most of
		// their slow boot.
		sideBySide := jobs > 1 || countedPeers(o)
		errs := make([]error, len(sides))
		var wg sync.WaitGroup
		for i, side := range sides {
			if !sideBySide {
				errs[i] = runSide(ctx, o, side, boots[i], 1, emit)
				continue
			}
			wg.Go(func() { errs[i] = runSide(ctx, o, side, boots[i], max(jobs/2, 1), emit) })
		}
		wg.Wait()
		runErr = errors.Join(errs...)
	}
	var fuzzErr error
	if o.Fuzz > 0 && runErr == nil && ctx.Err() == nil {
		fuzzErr = runFuzz(ctx, o, boots, rec, emit)
	}
	rec.Baseline, rec.Candidate = *sides[0], *sides[1]
	rec.Mismatch = compareKernels(&rec.Baseline, &rec.Candidate, kcfgs[0], kcfgs[1])
	compareTreeConfigs(rec.TreeBase, kcfgs[0], kcfgs[1])
	// A perf run that cannot be done is the harness's failure, but the
	// correctness results are written first: nothing done is lost.
	if o.Perf.Name != "" && runErr == nil && perfErr == nil {
		if s := rec.Candidate.Summary; len(s.Crashes)+len(s.Hangs) > 0 || len(rec.Candidate.Run.Failures) > 0 {
			progress("no perf run: the candidate kernel crashed or hung in the suites")
		} else {
			perfErr = runPerf(ctx, o, boots, expect, rec, emit)
		}
	}
	rec.Finish(expect)
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
	res := &resolved{o: o, boots: boots}
	if o.OutDir != "" {
		// An interrupted run is kept and indexed too.
		var ie *indexError
		switch err := keep(context.WithoutCancel(ctx), o.OutDir, rec); {
		case errors.As(err, &ie):
			emit(results.Event{Kind: results.EventIndexFail, Msg: fmt.Sprintf("%v (patchtest results reindex rebuilds it)", err)})
		case err != nil:
			return rec, res, errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		return rec, res, runErr
	}
	return rec, res, errors.Join(fuzzErr, perfErr)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// keep writes rec into a new folder of dir with every report and adds it
// to dir's index: the one way a run, a merge and a night are stored. The
// index is derived from run.json, so failing to update it loses nothing:
// that failure comes back as an *indexError, after the record is written.
func keep(ctx context.Context, dir string, rec *results.Record) error {
	if err := rec.Write(dir); err != nil {
		return err
	}
	x, err := results.OpenIndex(dir)
	if err == nil {
		defer x.Close()
		err = x.Add(ctx, rec)
	}
	if err != nil {
		return &indexError{err}
	}
	return nil
}

// indexError is a run written but not indexed.
type indexError struct{ err error }

func (e *indexError) Error() string { return "results index not updated: " + e.err.Error() }
func (e *indexError) Unwrap() error { return e.err }

// hostSetup installs what the run needs and the host lacks (QEMU, the
// kernel build tools, fresh apt lists for a Debian source), or says what
// and how, before anything is built.
func hostSetup(ctx context.Context, o Options, progress func(string)) error {
	var sources []string
	for _, k := range []configs.KernelSpec{o.Baseline, o.Candidate} {
		if k.Built() {
			src := k.Source
			if src == "" {
				src = kernels.DefaultSource
			}
			sources = append(sources, src)
		}
	}
	programs, libraries, apt := setup.ForSources(sources, o.CacheDir)
	pp, pl := peerNeeds(o)
	programs, libraries = append(programs, pp...), append(libraries, pl...)
	plan := setup.Real.Check(ctx, append(slices.Clone(setup.BootWith(o.Boot.QEMU)), programs...), libraries, apt)
	if err := setup.Ensure(ctx, plan, o.NoInstall, lineWriter(progress)); err != nil {
		return &vm.Error{Outcome: vm.Infrastructure, Msg: "host set-up", Err: err}
	}
	return nil
}

// lineWriter passes each line written to it to f.
type lineWriter func(string)

func (f lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		f(strings.TrimPrefix(l, "patchtest: "))
	}
	return len(p), nil
}

// Merge joins the runs in dirs, the shards of one run, into one run
// written under out (and indexed there), with every report; see
// results.MergeShards for what is checked.
func Merge(ctx context.Context, dirs []string, out string) (*results.Record, error) {
	var recs []*results.Record
	for _, d := range dirs {
		r, err := results.LoadRecord(d)
		if err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "merge: " + d, Err: err}
		}
		recs = append(recs, r)
	}
	rec, err := results.MergeShards(recs, console.Headline)
	if err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "merge", Err: err}
	}
	return rec, keep(ctx, out, rec)
}
