package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/vm"
)

// SchemaVersion is the version of the run record's JSON schema.
const SchemaVersion = 1

// KernelSpec says where one side's kernel comes from: a bzImage (or
// debian:FLAVOUR) given as Path, or a build of Source with Patches.
type KernelSpec struct {
	Path      string   `json:"path,omitempty"`
	Source    string   `json:"source,omitempty"`
	Patches   string   `json:"patches,omitempty"`
	Fragments []string `json:"fragments,omitempty"`
}

// Options configure a stock-versus-candidate run.
type Options struct {
	Baseline, Candidate KernelSpec
	Patterns            []string
	// Expect is the candidate series' expect.yaml; none when empty.
	Expect string
	// Boot is the template for both boots; its Kernel and ModulesDir are
	// set per side.
	Boot     vm.BootOptions
	CacheDir string
	// OutDir receives one folder per run.
	OutDir string
	// Events receives the run's event stream (see Event); the stream is
	// also kept in the run's folder as events.jsonl.
	Events func(Event)

	// SkipSuites leaves the correctness catalogue out (a perf-only run).
	SkipSuites bool
	// Perf is the perf level; no perf run when its Name is empty.
	Perf perf.Level
	// Benchmarks select benchmarks (globs); all of the level's when empty.
	Benchmarks []string
	PerfStats  PerfStats
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

// PerfResult is the perf part of a run.
type PerfResult struct {
	Run     *remote.PerfRun `json:"run"`
	Stats   PerfStats       `json:"stats"`
	Changes []PerfChange    `json:"changes"`
	FailPct float64         `json:"fail_pct"`
	// Regressions are the undeclared significant regressions of at least
	// FailPct: they fail the run.
	Regressions []PerfChange `json:"regressions,omitempty"`
	// Error is set when the perf run ended early: the candidate kernel
	// failed under a benchmark (CandidateFault), or the harness failed.
	Error          string `json:"error,omitempty"`
	CandidateFault bool   `json:"candidate_fault,omitempty"`
	// Null is set when both sides ran the same kernel.
	Null bool `json:"null,omitempty"`
}

// KernelResult is one side of a run.
type KernelResult struct {
	Role    string         `json:"role"`
	Spec    KernelSpec     `json:"spec"`
	BzImage string         `json:"bzimage"`
	Build   *kernels.Build `json:"build,omitempty"`
	// Capabilities say what the kernel can report, read from its
	// configuration before it booted.
	Capabilities *kernels.Capabilities `json:"capabilities,omitempty"`
	Run          *remote.Run           `json:"run"`
	Summary      ProblemsSummary       `json:"summary"`

	config *kernels.KernelConfig
}

// Label names the kernel in one short phrase: its release when it ran,
// else its image.
func (k *KernelResult) Label() string {
	if k.Run != nil && k.Run.Release != "" {
		return k.Role + " " + k.Run.Release
	}
	return k.Role + " " + filepath.Base(k.BzImage)
}

// ProblemsSummary counts what is wrong on one kernel by itself.
type ProblemsSummary struct {
	Invariants []string `json:"invariant_failures,omitempty"`
	Crashes    []string `json:"crashes,omitempty"`
	// Hangs are the cases that did not finish, with the first line of the
	// kernel's evidence.
	Hangs  []string `json:"hangs,omitempty"`
	Errors []string `json:"errors,omitempty"`
	Kmsg   []string `json:"kernel_warnings,omitempty"`
	// Kernel are the kernel's problems outside any case: reports printed
	// while it booted, boots that failed, a guest lost between cases.
	Kernel []string `json:"kernel,omitempty"`
	// NotRun are the cases that got no result of their own, with why.
	NotRun []string `json:"not_run,omitempty"`
}

// Count is the number of problems, the cases not run included.
func (s ProblemsSummary) Count() int {
	return len(s.Invariants) + len(s.Crashes) + len(s.Hangs) + len(s.Errors) + len(s.Kmsg) + len(s.Kernel) + len(s.NotRun)
}

// Findings reports whether the kernel did something wrong by itself.
func (s ProblemsSummary) Findings() bool {
	return len(s.Invariants)+len(s.Crashes)+len(s.Hangs)+len(s.Kmsg)+len(s.Kernel) > 0
}

// Record is a whole run: what ran, on what, and what changed.
type Record struct {
	Schema    int          `json:"schema"`
	ID        string       `json:"id"`
	Started   time.Time    `json:"started"`
	Finished  time.Time    `json:"finished"`
	Host      string       `json:"host"`
	Baseline  KernelResult `json:"baseline"`
	Candidate KernelResult `json:"candidate"`
	Changes   []Change     `json:"changes"`
	// NotComparable are the cases whose outcomes cannot be compared: not
	// run on a side, or skipped on one side only. They fail nothing.
	NotComparable []Change `json:"not_comparable,omitempty"`
	// Mismatch says how the two kernels differ in release and in the
	// configuration the catalogue depends on; nil when they match.
	Mismatch *Mismatch `json:"mismatch,omitempty"`
	// Incomplete is set when the run was interrupted or the harness
	// failed part way: what was done is kept, the rest is not run.
	Incomplete bool        `json:"incomplete,omitempty"`
	Expect     string      `json:"expect,omitempty"`
	Verdict    *Verdict    `json:"verdict,omitempty"`
	Perf       *PerfResult `json:"perf,omitempty"`
	Dir        string      `json:"dir"`

	log *eventLog
}

// Failed reports whether the run found something a reviewer must look
// at: an unexpected change, or an invariant failure, crash or kernel
// warning on the candidate.
func (r *Record) Failed() bool {
	if r.Verdict != nil {
		if len(r.Verdict.Unexpected) > 0 || len(r.Verdict.Unmet) > 0 {
			return true
		}
	} else if len(r.Changes) > 0 {
		return true
	}
	if r.Perf != nil && (len(r.Perf.Regressions) > 0 || r.Perf.CandidateFault) {
		return true
	}
	if b := r.Baseline.Run; b != nil && len(b.Failures) > 0 && len(b.Boots) == 0 {
		return true // the baseline never booted: nothing was compared
	}
	return r.Candidate.Summary.Findings()
}

// Execute builds or finds both kernels, runs the suites on each, diffs
// the observations and writes the record into a new folder of OutDir.
// A kernel that misbehaves is a finding in the record, never an error;
// the error is the host's or the harness's, or the run's interruption
// (vm.Interrupted), and even then what was done is written, marked
// incomplete.
func Execute(ctx context.Context, o Options) (*Record, error) {
	log := &eventLog{}
	said := map[string]bool{}
	var mu sync.Mutex
	emit := func(e Event) {
		if e.Kind == EventNotice {
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
		e.Time = time.Now()
		log.add(e)
		if o.Events != nil {
			o.Events(e)
		}
	}
	progress := func(msg string) { emit(Event{Kind: EventNotice, Msg: msg}) }
	rec := &Record{Schema: SchemaVersion, Started: time.Now().UTC(), Host: hostDesc(), Expect: o.Expect, log: log}
	rec.ID = rec.Started.Format("20060102T150405Z")
	expect, err := checkInputs(o)
	if err != nil {
		return nil, err
	}
	sides := []*KernelResult{{Role: remote.Baseline, Spec: o.Baseline}, {Role: remote.Candidate, Spec: o.Candidate}}
	boots := make([]vm.BootOptions, len(sides))
	for i, side := range sides {
		builder := &kernels.Builder{CacheDir: o.CacheDir, Progress: func(msg string) {
			emit(Event{Kind: EventBuild, Side: side.Role, Msg: msg})
		}}
		modules, err := resolve(ctx, builder, side, o.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("%s kernel: %w", side.Role, err)
		}
		emit(Event{Kind: EventBuilt, Side: side.Role, Msg: "kernel " + side.BzImage})
		boots[i] = o.Boot
		boots[i].Kernel = side.BzImage
		if modules != "" {
			boots[i].ModulesDir = modules
		}
		// What the kernel can report, and whether it can host the agent,
		// before it boots.
		if err := assess(side, boots[i].ModulesDir != ""); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: side.Role + " kernel", Err: err}
		}
		for _, l := range side.Capabilities.Limits {
			progress(fmt.Sprintf("%s kernel: %s", side.Role, l))
		}
	}
	var runErr error
	if o.SkipSuites {
		for _, side := range sides {
			side.Run = &remote.Run{}
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
	rec.Changes = Diff(rec.Baseline.Run.Results, rec.Candidate.Run.Results)
	rec.NotComparable = NotComparable(rec.Baseline.Run.Results, rec.Candidate.Run.Results)
	rec.Mismatch = compareKernels(&rec.Baseline, &rec.Candidate)
	if expect != nil && !o.SkipSuites {
		v := expect.Check(rec.Changes)
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
	emit(Event{Kind: EventFinished, Msg: fmt.Sprintf("finished in %v: %s", rec.Finished.Sub(rec.Started).Round(time.Second), verdict)})
	if o.OutDir != "" {
		if err := rec.Write(o.OutDir); err != nil {
			return rec, errors.Join(runErr, err)
		}
		// The index is derived from run.json; failing to update it
		// loses nothing (patchtest results reindex rebuilds it). An
		// interrupted run is still indexed.
		if err := indexRun(context.WithoutCancel(ctx), o.OutDir, rec); err != nil {
			emit(Event{Kind: EventIndexFail, Msg: fmt.Sprintf("results index not updated: %v (patchtest results reindex rebuilds it)", err)})
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
func checkInputs(o Options) (*Expect, error) {
	var expect *Expect
	if o.Expect != "" {
		var err error
		if expect, err = LoadExpect(o.Expect); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "expectations", Err: err}
		}
	}
	if !o.SkipSuites {
		if _, err := suites.Catalogue().Select(o.Patterns...); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "--suite", Err: err}
		}
	}
	if o.Perf.Name != "" {
		if _, err := perf.Select(o.Perf, o.Benchmarks...); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "--bench", Err: err}
		}
	}
	for _, k := range []struct {
		role string
		spec KernelSpec
	}{{remote.Baseline, o.Baseline}, {remote.Candidate, o.Candidate}} {
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
func assess(side *KernelResult, modules bool) error {
	buildConfig := ""
	if side.Build != nil {
		buildConfig = side.Build.Config
	}
	cfg, err := kernels.ConfigFor(side.BzImage, buildConfig)
	if err != nil {
		return err
	}
	caps, err := kernels.Assess(cfg, modules, side.BzImage)
	side.config, side.Capabilities = cfg, &caps
	return err
}

func indexRun(ctx context.Context, dir string, rec *Record) error {
	x, err := OpenIndex(dir)
	if err != nil {
		return err
	}
	defer x.Close()
	return x.Add(ctx, rec)
}

// resolve finds or builds side's kernel and returns the modules tree a
// given kernel comes with (a debian: package's), if any.
func resolve(ctx context.Context, b *kernels.Builder, side *KernelResult, cacheDir string) (modules string, err error) {
	if side.Spec.Path != "" {
		k, err := kernels.Resolve(ctx, side.Spec.Path, cacheDir)
		if err != nil {
			return "", err
		}
		side.BzImage = k.Kernel
		return k.Modules, nil
	}
	bld, err := b.Build(ctx, kernels.Request{Source: side.Spec.Source, Patches: side.Spec.Patches, Fragments: side.Spec.Fragments})
	if err != nil {
		return "", err
	}
	side.Build, side.BzImage = bld, bld.BzImage
	return "", nil
}

func summarize(run *remote.Run) ProblemsSummary {
	var s ProblemsSummary
	s.Kernel = append(s.Kernel, prefixed("while booting: ", run.BootReports)...)
	s.Kernel = append(s.Kernel, run.Failures...)
	for _, r := range run.Results {
		for _, inv := range r.Invariant {
			s.Invariants = append(s.Invariants, r.ID+": "+inv)
		}
		switch {
		case r.NotRun != "":
			s.NotRun = append(s.NotRun, r.ID+": "+r.NotRun)
		case r.Crash != "":
			s.Crashes = append(s.Crashes, r.ID+": "+firstLine(r.Crash))
		case r.Hung():
			s.Hangs = append(s.Hangs, r.ID+": "+r.Error+"; "+firstLine(r.Hang))
		case r.Error != "":
			s.Errors = append(s.Errors, r.ID+": "+firstLine(r.Error))
		}
		if r.Wedged && !r.Hung() {
			s.Kernel = append(s.Kernel, r.ID+": closing the case's descriptors blocked in the kernel; the cases after it ran in a fresh guest")
		}
		if len(r.Kmsg) > 0 {
			s.Kmsg = append(s.Kmsg, r.ID+": "+kmsgHeadline(r.Kmsg))
		}
	}
	return s
}

func prefixed(p string, l []string) []string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = p + x
	}
	return out
}

// kmsgHeadline is the line of a kernel report that names it (the
// WARNING:, BUG: or Oops line), with the count of the others; the whole
// report stays in the case's result.
func kmsgHeadline(lines []string) string {
	head := ""
	for _, l := range lines {
		t := strings.TrimSpace(strings.TrimLeft(l, "<0123456789>"))
		if head == "" && t != "" && !strings.Contains(t, "cut here") {
			head = t
		}
		if strings.Contains(t, "WARNING:") || strings.Contains(t, "BUG:") || strings.Contains(t, "Oops") {
			head = t
			break
		}
	}
	if len(lines) > 1 {
		head += fmt.Sprintf(" (+%d more lines in run.json)", len(lines)-1)
	}
	return head
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func hostDesc() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s %s/%s, %d CPUs", h, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

// Write stores the record as run.json, report.md, junit.xml, report.html,
// kcidb.json and, with perf, perf-baseline.txt and perf-candidate.txt, in a new
// folder of dir, each file written atomically.
func (r *Record) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Runs started in the same second (two CI jobs, a quick rerun) get
	// their own folders and IDs: 20261129T120000Z, 20261129T120000Z-2…
	for base, n := r.ID, 2; r.Dir != filepath.Join(dir, r.ID); n++ {
		err := os.Mkdir(filepath.Join(dir, r.ID), 0o755)
		if err == nil {
			r.Dir = filepath.Join(dir, r.ID)
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		r.ID = fmt.Sprintf("%s-%d", base, n)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(filepath.Join(r.Dir, "run.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := renameio.WriteFile(filepath.Join(r.Dir, "report.md"), []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	j, err := r.JUnit()
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(filepath.Join(r.Dir, "junit.xml"), j, 0o644); err != nil {
		return err
	}
	if r.log != nil {
		var buf bytes.Buffer
		if err := r.log.writeTo(&buf); err != nil {
			return err
		}
		if err := renameio.WriteFile(filepath.Join(r.Dir, "events.jsonl"), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	k, err := r.KCIDBJSON()
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(filepath.Join(r.Dir, "kcidb.json"), k, 0o644); err != nil {
		return err
	}
	h, err := r.HTML()
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(filepath.Join(r.Dir, "report.html"), h, 0o644); err != nil {
		return err
	}
	if r.Perf != nil && r.Perf.Run != nil {
		// Go benchmark format, one file per kernel:
		// benchstat perf-baseline.txt perf-candidate.txt
		for _, side := range []*KernelResult{&r.Baseline, &r.Candidate} {
			var buf bytes.Buffer
			if err := WriteBenchfmt(&buf, r.Perf.Run, side.Role, side.Label()); err != nil {
				return err
			}
			if err := renameio.WriteFile(filepath.Join(r.Dir, "perf-"+side.Role+".txt"), buf.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadRecord reads a run's record from its folder or its run.json.
func LoadRecord(p string) (*Record, error) {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		p = filepath.Join(p, "run.json")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a patchtest run record: %w", p, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d, this patchtest reads %d", p, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// Side returns the kernel result for role (baseline or candidate).
func (r *Record) Side(role string) (*KernelResult, error) {
	switch role {
	case remote.Baseline:
		return &r.Baseline, nil
	case remote.Candidate:
		return &r.Candidate, nil
	}
	return nil, fmt.Errorf("side %q: want baseline or candidate", role)
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
	spec := func(k configs.KernelSpec) KernelSpec {
		s := KernelSpec{Path: k.Path, Source: k.Source, Patches: abs(k.Patches), Fragments: cfg.Config.Fragments}
		if s.Path != "" && !strings.Contains(s.Path, ":") {
			s.Path = abs(s.Path)
		}
		return s
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
	o.PerfStats = PerfStats{Alpha: cfg.Perf.Alpha, Threshold: cfg.Perf.ThresholdPct}
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
func runPerf(ctx context.Context, o Options, boots []vm.BootOptions, expect *Expect, rec *Record, emit func(Event)) error {
	progress := func(msg string) { emit(Event{Kind: EventNotice, Msg: msg}) }
	benches, _ := perf.Select(o.Perf, o.Benchmarks...)
	total := 2 * len(benches) * (o.Perf.Rounds + o.Perf.Warmup)
	emit(Event{Kind: EventPerf, Total: total, Msg: o.Perf.Name})
	done := 0
	for i, role := range []string{remote.Baseline, remote.Candidate} {
		boots[i].Events = machineEvents(role, o.Boot.Events, emit)
	}
	po := remote.PerfOptions{
		Baseline: boots[0], Candidate: boots[1], Level: o.Perf, Patterns: o.Benchmarks,
		RequireKVM: o.RequireKVM, Notice: progress,
		OnSample: func(s remote.PerfSample) {
			done++
			emit(Event{Kind: EventSample, Side: s.Side, ID: s.ID, Done: done, Total: total})
		},
	}
	run, err := remote.RunPerf(ctx, po)
	res := &PerfResult{Run: run, Stats: o.PerfStats.withDefaults(), FailPct: o.PerfFailPct, Null: o.Null}
	if res.FailPct == 0 {
		res.FailPct = 5
	}
	if err != nil {
		// Only the candidate kernel failing is a finding; anything else
		// means the run could not be done.
		var se *remote.SideError
		if run == nil || !errors.As(err, &se) || se.Side != remote.Candidate || !vm.OutcomeOf(err).KernelFault() {
			if run == nil {
				run = &remote.PerfRun{Level: o.Perf}
			}
			res.Run = run
			res.Error = "perf run not completed (harness): " + firstLine(err.Error())
			res.Changes = ComparePerf(run, res.Stats)
			rec.Perf = res
			return fmt.Errorf("perf: %w", err)
		}
		progress(fmt.Sprintf("perf ended early: %v", err))
		res.Error = firstLine(err.Error())
		res.CandidateFault = true
	}
	res.Changes = ComparePerf(run, res.Stats)
	if expect != nil {
		MarkExpected(res.Changes, expect.Perf)
	}
	res.Regressions = PerfRegressions(res.Changes, res.FailPct, res.Stats.Alpha)
	rec.Perf = res
	return nil
}

// machineEvents turns a machine's events into the run's: a notice (the
// accelerator fallback) and readiness; next, when set, still gets them all.
func machineEvents(side string, next func(vm.Event), emit func(Event)) func(vm.Event) {
	return func(e vm.Event) {
		switch e.Kind {
		case vm.EventNotice:
			emit(Event{Kind: EventNotice, Side: side, Msg: e.Msg})
		case vm.EventStarted:
			emit(Event{Kind: EventBoot, Side: side, Msg: "QEMU started"})
		case vm.EventReady:
			emit(Event{Kind: EventReady, Side: side, Msg: "agent ready"})
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
func runSide(ctx context.Context, o Options, side *KernelResult, boot vm.BootOptions, shards int, emit func(Event)) error {
	cases, _ := suites.Catalogue().Select(o.Patterns...)
	emit(Event{Kind: EventSuites, Side: side.Role, Total: len(cases)})
	var mu sync.Mutex
	done := 0
	boot.Events = machineEvents(side.Role, o.Boot.Events, emit)
	onResult := func(r suites.CaseResult) {
		mu.Lock()
		done++
		n := done
		mu.Unlock()
		emit(Event{Kind: EventCase, Side: side.Role, ID: r.ID, Done: n, Total: len(cases), Msg: Outcome(r)})
		switch {
		case r.NotRun != "":
		case r.Crash != "":
			emit(Event{Kind: EventCrash, Side: side.Role, ID: r.ID, Msg: firstLine(r.Crash)})
		case len(r.Invariant) > 0:
			emit(Event{Kind: EventProblem, Side: side.Role, ID: r.ID, Msg: "invariant failed: " + r.Invariant[0]})
		case r.Hung():
			emit(Event{Kind: EventProblem, Side: side.Role, ID: r.ID, Msg: r.Error + "; " + firstLine(r.Hang)})
		case len(r.Kmsg) > 0:
			emit(Event{Kind: EventProblem, Side: side.Role, ID: r.ID, Msg: "kernel log: " + kmsgHeadline(r.Kmsg)})
		}
	}
	notice := func(msg string) { emit(Event{Kind: EventNotice, Side: side.Role, Msg: msg}) }
	shards = max(min(shards, len(cases)), 1)
	runs := make([]*remote.Run, shards)
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
	side.Summary = summarize(side.Run)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s kernel: %w", side.Role, err)
	}
	return nil
}

// mergeRuns joins the shards' runs, results in catalogue order.
func mergeRuns(cases []*suites.Case, runs []*remote.Run) *remote.Run {
	out := &remote.Run{}
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

// Render renders the record in one of the formats a run writes: md,
// html, junit, kcidb, json, benchstat-baseline or benchstat-candidate.
func (r *Record) Render(format string) ([]byte, error) {
	switch format {
	case "md", "markdown", "":
		return []byte(r.Markdown()), nil
	case "html":
		return r.HTML()
	case "junit":
		return r.JUnit()
	case "kcidb":
		return r.KCIDBJSON()
	case "json":
		b, err := json.MarshalIndent(r, "", "  ")
		return append(b, '\n'), err
	case "benchstat-baseline", "benchstat-candidate":
		if r.Perf == nil || r.Perf.Run == nil {
			return nil, fmt.Errorf("run %s has no perf samples", r.ID)
		}
		side, _ := r.Side(strings.TrimPrefix(format, "benchstat-"))
		var b bytes.Buffer
		err := WriteBenchfmt(&b, r.Perf.Run, side.Role, side.Label())
		return b.Bytes(), err
	}
	return nil, fmt.Errorf("format %q: want md, html, junit, kcidb, json, benchstat-baseline or benchstat-candidate", format)
}
