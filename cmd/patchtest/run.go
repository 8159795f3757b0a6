package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/patches"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
)

// runFlags are the flags of run and perf.
type runFlags struct {
	boot       bootFlags
	baseline   string
	patches    string
	source     string
	patterns   []string
	expect     string
	outDir     string
	configFile string
	fragments  []string
	asJSON     bool
	perfLevel  string
	benches    []string
	requireKVM bool
	failPct    float64
	null       bool
	rounds     int
	sampleTime time.Duration
	jobs       int
	clock      string
	tree       string
	baseRef    string
	perPatch   bool
	shard      string
	gitRange   string
	peer       []string
	peerSource string
	fuzz       time.Duration
	fuzzSeed   uint64
	// fuzzOnly is patchtest fuzz: no catalogue, --time and --seed.
	fuzzOnly bool
}

func (f *runFlags) register(fl *pflag.FlagSet) {
	f.boot.register(fl)
	fl.StringVar(&f.baseline, "baseline", "", "baseline bzImage or debian:FLAVOUR (default: for a --kernel built in a git kernel tree, that tree at its base; else --source built stock)")
	fl.StringVar(&f.gitRange, "range", "", "a series as a git range, git:PATH@BASE..TIP: the baseline is BASE, the candidate BASE with the range's commits (with --per-patch, one column per commit)")
	fl.StringVar(&f.shard, "shard", "", "run shard I/N of the cases and benchmarks (split by a stable hash of their IDs); patchtest results merge joins the shards' runs")
	fl.BoolVar(&f.perPatch, "per-patch", false, "run the catalogue on the base and after each patch of the series, and attribute each change to the patch that made it")
	fl.StringVar(&f.tree, "tree", "", "kernel tree whose built kernel (TREE/arch/x86/boot/bzImage unless --kernel) is the candidate and whose base commit, built with its .config, the baseline")
	fl.StringVar(&f.baseRef, "base-ref", "", "the same-tree baseline's commit (default: git merge-base HEAD @{upstream}; without an upstream, HEAD for uncommitted changes, else HEAD^)")
	fl.StringVar(&f.patches, "patches", "", "build the candidate from --source with this series")
	fl.StringVar(&f.source, "source", kernels.DefaultSource, "kernel source for built kernels")
	fl.StringSliceVar(&f.fragments, "fragment", nil, "extra config fragment(s) for the kernels patchtest builds: built-in names ("+strings.Join(configs.KernelFragments(), ", ")+") or paths")
	fl.StringVar(&f.expect, "expect", "", "expect.yaml (default: the series' own, if it has one)")
	fl.StringVar(&f.outDir, "out", "", "directory for the run's folder (run.json, report.md, junit.xml, perf-*.txt; default: the configuration's, patchtest-results)")
	fl.StringVar(&f.configFile, "config", "", "run configuration (YAML; default: the built-in configs/default.yaml)")
	fl.BoolVar(&f.asJSON, "json", false, `print JSON Lines instead of the report: {"event": ...} per event as it happens, then {"record": ...}`)
	fl.StringSliceVar(&f.benches, "bench", nil, "glob(s) selecting benchmarks (patchtest perf list shows them)")
	fl.BoolVar(&f.requireKVM, "require-kvm", false, "refuse to measure perf without a working KVM")
	fl.Float64Var(&f.failPct, "perf-fail", 0, "an undeclared significant regression of this many percent fails the run (default: the configuration's, 5 in real time, 1.5 counting instructions)")
	fl.IntVar(&f.jobs, "jobs", 0, "machines at once: from 2 the two kernels run side by side, each over jobs/2 machines (default: the configuration's, 1)")
	fl.IntVar(&f.rounds, "rounds", 0, "measured rounds per benchmark and kernel (default: the level's)")
	fl.DurationVar(&f.sampleTime, "sample-time", 0, "target duration of each sample (default: the level's)")
	fl.StringVar(&f.clock, "clock", "", "what guest time counts in the benchmarks under TCG: icount (executed instructions) or real (default: the configuration's, icount)")
}

// registerSelection adds the flags that select what runs: the cases and
// the perf level.
func (f *runFlags) registerSelection(fl *pflag.FlagSet) {
	fl.StringSliceVar(&f.patterns, "suite", nil, "glob(s) selecting cases")
	fl.StringVar(&f.perfLevel, "perf", "", "perf level: off, quick, standard or thorough (default: the configuration's, off)")
}

// registerPeer adds the flags that run the peer suites.
func (f *runFlags) registerPeer(fl *pflag.FlagSet) {
	fl.StringSliceVar(&f.peer, "peer", nil, "peer suites to run on both kernels beside the catalogue: "+suites.PeerHelp())
	fl.StringVar(&f.peerSource, "peer-source", "", "kernel source tree to build the kselftests from (default: the candidate's own)")
}

func newRun() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [--kernel K | --patches P] [--baseline B] [--suite GLOB] [--perf LEVEL] [--out DIR]",
		Short: "Run the suites (and benchmarks) on a baseline and a candidate kernel and report what changed",
		Long: `run builds or finds two kernels, runs the correctness catalogue on each
under QEMU, and reports the observations that changed, sorted into those
the series declares in its expect.yaml and unexpected ones. With --perf
it then boots both kernels side by side and compares their benchmarks
(see patchtest perf --help).

With no arguments it runs the built-in default: Debian's 6.12 source,
stock, against the same with the project's vmsplice-wrapper series
(kernels/patches/vmsplice-wrapper), both built and cached: the built-in
configuration configs/default.yaml. --config FILE takes another; flags
override it.

  --kernel K    the candidate: a bzImage or debian:FLAVOUR
  --patches P   the candidate: --source with this series (directory or mbox)
  --baseline B  the baseline: a bzImage (default: --source built stock)
  --perf L      off, quick, standard or thorough

Exit status: 0 when only expected changes appear; 1 when a change is
unexpected, an expectation is not met, the candidate breaks an invariant,
crashes or warns, or a benchmark regresses significantly by --perf-fail
percent or more without expect.yaml declaring it; 2 when the run could
not be done (a harness or host problem, not the kernel's).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return execute(c, &f, false) },
	}
	fl := c.Flags()
	f.register(fl)
	f.registerSelection(fl)
	f.registerPeer(fl)
	fl.DurationVar(&f.fuzz, "fuzz", 0, "after the catalogue, fuzz both kernels with the same generated programs this long (e.g. 2m) and report every difference, minimized, with a C reproducer (default: the configuration's, none)")
	fl.Uint64Var(&f.fuzzSeed, "fuzz-seed", 0, "seed of the fuzzing programs (default: the configuration's, 1)")
	return c
}

// execute runs the pipeline for run and perf (perfOnly: no correctness
// suites, a perf level by default).
func execute(c *cobra.Command, f *runFlags, perfOnly bool) error {
	stderr := c.ErrOrStderr()
	cfg, dir, err := loadRunConfig(f.configFile, f.boot.opts.CacheDir)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := f.boot.prepareEvents(stderr); err != nil {
		return &exitError{code: 2, err: err}
	}
	o, err := pipeline.Configure(cfg, dir, f.boot.opts, f.given(c.Flags(), perfOnly))
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	// A live view on a terminal; plain lines elsewhere and with --json.
	tty := false
	if file, ok := stderr.(*os.File); ok {
		tty = term.IsTerminal(int(file.Fd()))
	}
	view := results.NewProgress(stderr, tty && !f.asJSON, os.Getenv("NO_COLOR") == "")
	o.Events = view.Event
	var lines *results.JSONLines
	if f.asJSON {
		lines = results.NewJSONLines(c.OutOrStdout())
		o.Events = func(e results.Event) { view.Event(e); lines.Event(e) }
	}
	rec, err := pipeline.Execute(c.Context(), o)
	view.Close()
	if err != nil {
		if rec != nil && rec.Dir != "" {
			fmt.Fprintf(stderr, "patchtest: what was done is in %s (marked incomplete)\n", rec.Dir)
		}
		if vm.OutcomeOf(err) == vm.Interrupted || c.Context().Err() != nil {
			return &exitError{code: vm.Interrupted.ExitCode(), err: err}
		}
		return &exitError{code: 2, err: err}
	}
	out := c.OutOrStdout()
	if lines != nil {
		if err := lines.Record(rec); err != nil {
			return err
		}
	} else {
		fmt.Fprint(out, rec.Markdown())
	}
	if rec.Dir != "" {
		fmt.Fprintf(stderr, "patchtest: results in %s\n", rec.Dir)
	}
	if rec.Failed() {
		return &exitError{code: 1}
	}
	return nil
}

// loadRunConfig reads the run configuration and returns the directory its
// relative paths are relative to: the file's, or for the built-in one the
// repository's when patchtest runs in it, else the copy of the reference
// series the binary carries, written under cacheDir.
func loadRunConfig(path, cacheDir string) (*configs.Run, string, error) {
	if path != "" {
		cfg, err := configs.LoadRunFile(path)
		return cfg, filepath.Dir(path), err
	}
	cfg, err := configs.LoadRun(configs.DefaultRunName, configs.DefaultRun)
	if err != nil {
		return nil, "", err
	}
	if src, err := build.FindSource(); err == nil {
		return cfg, src, nil
	}
	root, err := patches.Root(cacheDir)
	return cfg, root, err
}

// given collects the flags set on the command line, for
// pipeline.Configure to lay over the configuration.
func (f *runFlags) given(fl *pflag.FlagSet, perfOnly bool) pipeline.Flags {
	str := func(name string, v string) *string {
		if fl.Changed(name) {
			return &v
		}
		return nil
	}
	num := func(name string, v int) *int {
		if fl.Changed(name) {
			return &v
		}
		return nil
	}
	dur := func(name string, v time.Duration) *time.Duration {
		if fl.Changed(name) {
			return &v
		}
		return nil
	}
	g := pipeline.Flags{
		Kernel: str("kernel", f.boot.opts.Kernel), Patches: str("patches", f.patches), Baseline: str("baseline", f.baseline),
		Source: str("source", f.source), Expect: str("expect", f.expect), Out: str("out", f.outDir),
		Perf: str("perf", f.perfLevel), Rounds: num("rounds", f.rounds), SampleTime: dur("sample-time", f.sampleTime),
		Jobs: num("jobs", f.jobs), Accel: str("accel", f.boot.accel), CPUs: num("cpus", f.boot.opts.CPUs),
		MemoryMiB: num("mem", f.boot.opts.MemoryMiB), Timeout: dur("timeout", f.boot.opts.Timeout),
		Null: f.null, PerfOnly: perfOnly, NoInstall: f.boot.noInstall,
		Tree: str("tree", f.tree), BaseRef: str("base-ref", f.baseRef), PerPatch: f.perPatch, Shard: str("shard", f.shard), Range: str("range", f.gitRange),
	}
	if fl.Lookup("level") != nil && fl.Changed("level") {
		g.Perf = &f.perfLevel
	}
	if fl.Changed("suite") {
		g.Suites = f.patterns
	}
	if fl.Lookup("peer") != nil && fl.Changed("peer") {
		g.Peer = f.peer
	}
	if fl.Lookup("peer-source") != nil {
		g.PeerSource = str("peer-source", f.peerSource)
	}
	if fl.Changed("fragment") {
		g.Fragments = f.fragments
	}
	if fl.Changed("bench") {
		g.Benchmarks = f.benches
	}
	if fl.Changed("require-kvm") {
		g.RequireKVM = &f.requireKVM
	}
	if fl.Changed("perf-fail") {
		g.FailPct = &f.failPct
	}
	if fl.Changed("clock") {
		g.Clock = &f.clock
	}
	for _, name := range []string{"fuzz", "time"} {
		if fl.Lookup(name) != nil && fl.Changed(name) {
			g.Fuzz = &f.fuzz
		}
	}
	for _, name := range []string{"fuzz-seed", "seed"} {
		if fl.Lookup(name) != nil && fl.Changed(name) {
			g.FuzzSeed = &f.fuzzSeed
		}
	}
	if f.fuzzOnly {
		g.FuzzOnly = true
		if g.Fuzz == nil {
			g.Fuzz = &f.fuzz
		}
	}
	return g
}
