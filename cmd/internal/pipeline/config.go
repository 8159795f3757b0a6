package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/vm"
)

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
	spec := func(k configs.KernelSpec) configs.KernelSpec {
		if k.Path != "" {
			if !strings.Contains(k.Path, ":") {
				k.Path = abs(k.Path)
			}
			return k
		}
		return configs.KernelSpec{Source: k.Source, Patches: abs(k.Patches), Base: cfg.Config.Base, Fragments: cfg.Config.Fragments, TreeName: k.TreeName}
	}
	o := Options{
		Baseline:     spec(cfg.Kernels.Baseline),
		Candidate:    spec(cfg.Kernels.Candidate),
		Patterns:     cfg.Suites,
		Peer:         cfg.Peer.Suites,
		PeerSource:   abs(cfg.Peer.Source),
		Expect:       abs(cfg.Expect),
		OutDir:       cfg.Out,
		DashboardURL: cfg.DashboardURL,
		Jobs:         cfg.QEMU.Jobs,
	}
	if l, err := perf.ParseLevel(cfg.Perf.Level); err == nil {
		o.setPerf(l, cfg.Perf.Rounds, cfg.Perf.SampleTime)
	}
	o.Benchmarks = cfg.Perf.Benchmarks
	o.Fuzz, o.FuzzSeed = cfg.Fuzz.Duration, cfg.Fuzz.Seed
	o.PerfStats = results.PerfStats{Alpha: cfg.Perf.Alpha, Threshold: cfg.Perf.ThresholdPct}
	o.PerfFailPct, o.PerfCountedFailPct = cfg.Perf.FailPct, cfg.Perf.CountedFailPct
	o.RequireKVM = cfg.Perf.RequireKVM
	o.DefaultExpect()
	return o
}

// setPerf sets the perf level l in both its shapes (real time, and
// counted instructions), with rounds and sample time overriding the
// shapes' own when not zero.
func (o *Options) setPerf(l perf.Level, rounds int, sample time.Duration) {
	o.Perf, o.PerfCounted = l, perf.Level{}
	if l.Name == "" {
		return
	}
	o.PerfCounted = l.Counted()
	for _, s := range []*perf.Level{&o.Perf, &o.PerfCounted} {
		if rounds > 0 {
			s.Rounds = rounds
		}
		if sample > 0 {
			s.Duration = sample
		}
	}
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

// Flags are a run's settings given on the command line. A nil field (an
// empty slice for the lists) was not given and leaves the
// configuration's setting.
type Flags struct {
	Kernel, Patches, Baseline, Source *string
	Expect, Out                       *string
	Suites, Benchmarks                []string
	// Fragments are config fragments added to the kernels patchtest
	// builds (built-in names such as kcov or debug, or paths).
	Fragments []string
	// Perf is a level name or "off".
	Perf       *string
	Rounds     *int
	SampleTime *time.Duration
	Jobs       *int
	RequireKVM *bool
	// Clock is real or icount.
	Clock   *string
	FailPct *float64
	// Accel, CPUs, MemoryMiB and Timeout set both machines' QEMU.
	Accel     *string
	CPUs      *int
	MemoryMiB *int
	Timeout   *time.Duration
	// Null runs the candidate as both sides (a host self-check).
	Null bool
	// PerfOnly leaves the catalogue out: a perf run, quick unless a
	// level is given.
	PerfOnly bool
	// NoInstall refuses to install missing host packages.
	NoInstall bool
	// Tree is a kernel tree whose built kernel is the candidate and whose
	// base commit is the baseline; BaseRef names that commit.
	Tree, BaseRef *string
	// PerPatch runs the candidate's series patch by patch.
	PerPatch bool
	// Shard is I/N: run shard I of N (results.ShardOf).
	Shard *string
	// Range is git:PATH@BASE..TIP, a series given as a git range.
	Range *string
	// Peer names the peer suites (kselftest, stress-ng); PeerSource the
	// tree the kselftests are built from.
	Peer       []string
	PeerSource *string
	// Fuzz is how long to fuzz both kernels; FuzzSeed seeds the
	// programs. FuzzOnly leaves the catalogue out (patchtest fuzz).
	Fuzz     *time.Duration
	FuzzSeed *uint64
	FuzzOnly bool
}

// Configure is the one place where the command line overrides a run
// configuration (cfg, its relative paths relative to dir): it returns
// the run's Options on the boot template boot (the QEMU binary, guest
// binary, cache and console settings), or an error naming the flag or
// setting that cannot be used. The configuration's own defaults come
// from configs (default.yaml).
func Configure(cfg *configs.Run, dir string, boot vm.BootOptions, f Flags) (Options, error) {
	o := FromConfig(cfg, dir)
	bad := func(format string, a ...any) (Options, error) {
		return Options{}, &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf(format, a...)}
	}
	if f.Kernel != nil && f.Patches != nil {
		return bad("--kernel and --patches both name the candidate; give one")
	}
	if f.Null && f.Baseline != nil {
		return bad("--null compares the candidate with itself; drop --baseline")
	}
	if f.Kernel != nil {
		o.Candidate, o.Expect = configs.KernelSpec{Path: *f.Kernel}, ""
	}
	if f.Patches != nil {
		o.Candidate = configs.KernelSpec{Source: o.Candidate.Source, Patches: *f.Patches, Base: cfg.Config.Base, Fragments: cfg.Config.Fragments}
		o.Expect = ""
	}
	if f.Baseline != nil {
		o.Baseline = configs.KernelSpec{Path: *f.Baseline}
	}
	if f.Source != nil {
		for _, k := range []*configs.KernelSpec{&o.Baseline, &o.Candidate} {
			if k.Built() {
				k.Source = *f.Source
			}
		}
	}
	if len(f.Fragments) > 0 {
		built := false
		for _, k := range []*configs.KernelSpec{&o.Baseline, &o.Candidate} {
			if k.Built() {
				k.Fragments, built = append(slices.Clone(k.Fragments), f.Fragments...), true
			}
		}
		if !built {
			return bad("--fragment %s: only kernels patchtest builds take fragments (--patches, --source), and --kernel and --baseline name both", strings.Join(f.Fragments, ","))
		}
		for _, n := range f.Fragments {
			if st, err := os.Stat(n); err == nil && !st.IsDir() {
				continue
			}
			if _, err := configs.KernelFragment(n); err != nil {
				return bad("--fragment %s: not a file, and %v", n, err)
			}
		}
	}
	if f.Tree != nil && f.Baseline != nil {
		return bad("--tree makes the tree's base commit the baseline; drop --baseline, or --tree")
	}
	if f.BaseRef != nil && (f.Baseline != nil || f.Null) {
		return bad("--base-ref chooses the same-tree baseline; it cannot go with --baseline or --null")
	}
	// A kernel given alone is compared with its own tree at its base
	// when it was built in one (decided when the run starts).
	o.SameTree = (f.Kernel != nil || f.Tree != nil) && f.Baseline == nil && !f.Null
	if f.Tree != nil {
		o.Tree = *f.Tree
		if f.Kernel == nil {
			o.Candidate, o.Expect = configs.KernelSpec{}, ""
		}
	}
	if f.BaseRef != nil {
		if !o.SameTree {
			return bad("--base-ref needs --kernel TREE/arch/x86/boot/bzImage or --tree TREE")
		}
		o.BaseRef = *f.BaseRef
	}
	if f.Null {
		o.Baseline, o.Expect, o.Null = o.Candidate, "", true
	}
	if f.Shard != nil {
		i, n, err := results.ParseShard(*f.Shard)
		if err != nil {
			return bad("%v", err)
		}
		if f.PerPatch {
			return bad("--shard splits one comparison's cases; it cannot go with --per-patch")
		}
		o.ShardIndex, o.ShardCount = i, n
	}
	if f.Range != nil {
		if f.Kernel != nil || f.Patches != nil || f.Baseline != nil || f.Null {
			return bad("--range gives both kernels (BASE, and BASE with the range's commits); drop --kernel, --patches, --baseline and --null")
		}
		o.Range, o.Expect, o.SameTree = *f.Range, "", false
		if f.Expect != nil {
			o.Expect = *f.Expect
		}
		o.Candidate.Patches = *f.Range // a series, for --per-patch's check below
	}
	if f.PerPatch {
		if o.Candidate.Patches == "" || f.Null {
			return bad("--per-patch runs a series patch by patch: give --patches DIR|MBOX (or a configuration whose candidate has patches), without --null")
		}
		o.PerPatch, o.SameTree = true, false
	}
	if len(f.Suites) > 0 {
		o.Patterns = f.Suites
	}
	if len(f.Peer) > 0 {
		o.Peer = f.Peer
	}
	if f.PeerSource != nil {
		o.PeerSource = *f.PeerSource
	}
	if f.Expect != nil {
		o.Expect = *f.Expect
	}
	o.DefaultExpect()
	if f.Out != nil {
		o.OutDir = *f.Out
	}
	o.SkipSuites = f.PerfOnly || f.FuzzOnly
	if f.Fuzz != nil {
		o.Fuzz = *f.Fuzz
	}
	if f.FuzzSeed != nil {
		o.FuzzSeed = *f.FuzzSeed
	}
	if o.Fuzz < 0 {
		return bad("--fuzz %v: want a duration such as 2m, or 0 for none", o.Fuzz)
	}
	if f.FuzzOnly && o.Fuzz == 0 {
		return bad("--time %v: patchtest fuzz needs a duration such as 2m", o.Fuzz)
	}
	if o.Fuzz > 0 && o.PerPatch {
		return bad("--fuzz compares two kernels; it cannot go with --per-patch")
	}
	level := cfg.Perf.Level
	if f.Perf != nil {
		level = *f.Perf
	} else if f.PerfOnly && (level == "" || level == "off") {
		level = perf.Quick.Name
	}
	var l perf.Level
	if level != "" && level != "off" {
		var err error
		if l, err = perf.ParseLevel(level); err != nil {
			return bad("%v", err)
		}
	}
	rounds, sample := cfg.Perf.Rounds, cfg.Perf.SampleTime
	if f.Rounds != nil {
		rounds = *f.Rounds
	}
	if f.SampleTime != nil {
		sample = *f.SampleTime
	}
	if rounds < 0 || sample < 0 {
		return bad("--rounds and --sample-time must not be negative")
	}
	o.setPerf(l, rounds, sample)
	if f.Jobs != nil {
		o.Jobs = *f.Jobs
	}
	if o.Jobs < 1 {
		return bad("--jobs %d: want 1 or more", o.Jobs)
	}
	if len(f.Benchmarks) > 0 {
		o.Benchmarks = f.Benchmarks
	}
	if f.RequireKVM != nil {
		o.RequireKVM = *f.RequireKVM
	}
	if f.FailPct != nil {
		o.PerfFailPct, o.PerfCountedFailPct = *f.FailPct, *f.FailPct
	}
	clock := cfg.Perf.Clock
	if f.Clock != nil {
		clock = *f.Clock
	}
	pc, err := vm.ParseClock(clock)
	if err != nil {
		return bad("--clock: %v", err)
	}
	o.PerfClock = pc
	// QEMU: the configuration's, then the flags'.
	accel := cfg.QEMU.Accel
	boot.CPUs, boot.MemoryMiB, boot.Timeout = cfg.QEMU.CPUs, cfg.QEMU.MemoryMiB, cfg.QEMU.Timeout
	if f.Accel != nil {
		accel = *f.Accel
	}
	if f.CPUs != nil {
		boot.CPUs = *f.CPUs
	}
	if f.MemoryMiB != nil {
		boot.MemoryMiB = *f.MemoryMiB
	}
	if f.Timeout != nil {
		boot.Timeout = *f.Timeout
	}
	if accel == "" {
		accel = string(vm.Auto)
	}
	a, err := vm.ParseAccelerator(accel)
	if err != nil {
		return bad("--accel: %v", err)
	}
	boot.Accel, boot.Kernel = a, ""
	o.Boot, o.CacheDir = boot, boot.CacheDir
	o.NoInstall = f.NoInstall
	return o, nil
}
