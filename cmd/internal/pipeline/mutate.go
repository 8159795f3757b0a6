package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/mutate"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/coverage"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// Mutant verdicts.
const (
	Killed       = "killed"        // the catalogue saw a change or a problem
	Survived     = "survived"      // the catalogue saw nothing
	NoBuild      = "did-not-build" // the mutant does not compile
	HarnessError = "harness-error" // the run could not be done: no verdict
)

// Mutation scopes.
const (
	ScopeEntry = "entry" // the syscalls' entry points (results/coverage's EntryPoints)
	ScopeFile  = "file"  // every function of the file
)

// MutateOptions say which file to mutate and how far.
type MutateOptions struct {
	// File is the kernel source file, relative to the tree (fs/splice.c).
	File string
	// Operators are mutate's operators; all when empty.
	Operators []string
	// Scope is where the mutants go: ScopeEntry (the syscalls' entry
	// points, the default) or ScopeFile (every function of the file).
	Scope string
	// Max is the most mutants run (spread over the file: every k-th);
	// all when 0.
	Max int
	// Run holds the rest: the source (Baseline, built stock), the cases,
	// boot template, cache. Its Candidate is set per mutant.
	Run Options
	// OutDir receives mutate.json and each mutant's patch.
	OutDir string
}

// MutantResult is one mutant's fate.
type MutantResult struct {
	mutate.Mutant
	Verdict string `json:"verdict"`
	// By are the changes or problems that killed it (the first few).
	By []string `json:"by,omitempty"`
	// Catalogue and Fuzz say which killed it: the catalogue (a case's
	// change or a problem under the suites), differential fuzzing (a
	// fuzz difference, or the kernel lost under a program), or both.
	Catalogue bool          `json:"catalogue,omitempty"`
	Fuzz      bool          `json:"fuzz,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// MutateResult is a mutation run: every mutant's fate and the score.
type MutateResult struct {
	File    string         `json:"file"`
	Scope   string         `json:"scope"`
	Mutants []MutantResult `json:"mutants"`
	Dir     string         `json:"dir"`
	Elapsed time.Duration  `json:"elapsed_ns"`
	// Fuzzed says each mutant was fuzzed against stock too.
	Fuzzed bool `json:"fuzzed,omitempty"`
}

// Score is killed over killed plus survived, in percent: the mutants
// that did not build or could not be run do not count.
func (r *MutateResult) Score() (killed, survived int, pct float64) {
	for _, m := range r.Mutants {
		switch m.Verdict {
		case Killed:
			killed++
		case Survived:
			survived++
		}
	}
	if killed+survived > 0 {
		pct = 100 * float64(killed) / float64(killed+survived)
	}
	return
}

// ScoreBy counts the mutants the catalogue killed and those fuzzing
// killed, of the mutants with a verdict (killed or survived).
func (r *MutateResult) ScoreBy() (catalogue, fuzz, judged int) {
	for _, m := range r.Mutants {
		if m.Verdict != Killed && m.Verdict != Survived {
			continue
		}
		judged++
		if m.Catalogue {
			catalogue++
		}
		if m.Fuzz {
			fuzz++
		}
	}
	return
}

// Mutate makes the mutants of o.File's entry points (results/coverage's
// EntryPoints; one line each, mutate's operators), builds each on the
// source in the one source tree, one after another (each build
// recompiles the one file), and runs the catalogue on it against the
// stock kernel: a mutant is killed when an observation changed or the
// kernel misbehaved, survived when nothing did, did-not-build when it
// does not compile; a run the harness could not do is no verdict.
func Mutate(ctx context.Context, o MutateOptions) (*MutateResult, error) {
	start := time.Now()
	if o.File == "" {
		o.File = "fs/splice.c"
	}
	for _, op := range o.Operators {
		if !strings.Contains(" "+strings.Join(mutate.Operators, " ")+" ", " "+op+" ") {
			return nil, fmt.Errorf("mutate: --operators %s: no such operator (have %s)", op, strings.Join(mutate.Operators, ", "))
		}
	}
	switch o.Scope {
	case "":
		o.Scope = ScopeEntry
	case ScopeEntry, ScopeFile:
	default:
		return nil, fmt.Errorf("mutate: --scope %s: want %s or %s", o.Scope, ScopeEntry, ScopeFile)
	}
	ro := o.Run
	progress := func(s string) {
		if ro.Events != nil {
			ro.Events(results.Event{Kind: results.EventNotice, Msg: s})
		}
	}
	// The stock source, as the mutants are built on it.
	var text string
	b := &kernels.Builder{CacheDir: ro.CacheDir}
	req := kernels.Request{Source: ro.Baseline.Source, Base: ro.Baseline.Base, Fragments: ro.Baseline.Fragments}
	if _, err := b.Build(ctx, req); err != nil { // materializes the tree
		return nil, fmt.Errorf("mutate: the stock kernel: %w", err)
	}
	if err := b.WithTree(ctx, req, nil, func(src string) error {
		data, err := os.ReadFile(filepath.Join(src, o.File))
		text = string(data)
		return err
	}); err != nil {
		return nil, fmt.Errorf("mutate: --file %s: %w", o.File, err)
	}
	var lines map[int]string
	switch o.Scope {
	case ScopeEntry:
		lines = coverage.EntryLines(o.File, text)
		if len(lines) == 0 {
			return nil, fmt.Errorf("mutate: --file %s holds none of the entry points (%s); --scope file mutates all its functions", o.File, entryFiles())
		}
	case ScopeFile:
		lines = coverage.FuncLines(text)
		if len(lines) == 0 {
			return nil, fmt.Errorf("mutate: --file %s: no function definitions found (kernel style: the body's braces alone on their lines)", o.File)
		}
	}
	all := mutate.Generate(o.File, text, lines, o.Operators)
	picked := all
	if o.Max > 0 && len(all) > o.Max {
		// Every k-th, so that a small run still spreads over the file.
		picked = nil
		for i := 0; i < o.Max; i++ {
			picked = append(picked, all[i*len(all)/o.Max])
		}
	}
	dir := filepath.Join(o.OutDir, "mutate-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	res := &MutateResult{File: o.File, Scope: o.Scope, Dir: dir, Fuzzed: ro.Fuzz > 0}
	progress(fmt.Sprintf("mutate: %d of %d mutants of %s (scope %s)", len(picked), len(all), o.File, o.Scope))
	for i, m := range picked {
		if ctx.Err() != nil {
			break
		}
		progress(fmt.Sprintf("mutate: %d/%d %s: %s", i+1, len(picked), m.ID, strings.TrimSpace(m.New)))
		series := filepath.Join(dir, fmt.Sprintf("%03d", i+1))
		if err := os.MkdirAll(series, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(series, "0001-mutant.patch"), m.Patch(), 0o644); err != nil {
			return nil, err
		}
		mr := runMutant(ctx, ro, series, m)
		progress(fmt.Sprintf("mutate: %s %s %s", m.ID, mr.Verdict, strings.Join(mr.By, "; ")+mr.Reason))
		res.Mutants = append(res.Mutants, mr)
	}
	res.Elapsed = time.Since(start)
	out, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "mutate.json"), append(out, '\n'), 0o644); err != nil {
		return res, err
	}
	return res, ctx.Err()
}

// runMutant builds the series (one mutant) and runs the catalogue on it
// against stock.
func runMutant(ctx context.Context, ro Options, series string, m mutate.Mutant) MutantResult {
	t0 := time.Now()
	mr := MutantResult{Mutant: m}
	o := ro
	o.Candidate = o.Baseline
	o.Candidate.Patches = series
	o.Expect, o.OutDir, o.Perf, o.Events = "", "", perf.Level{}, nil
	rec, err := Execute(ctx, o)
	mr.Elapsed = time.Since(t0)
	var be *kernels.BuildError
	var pe *kernels.PatchError
	switch {
	case errors.As(err, &be):
		mr.Verdict, mr.Reason = NoBuild, firstLine(strings.TrimSpace(be.Errors))
	case errors.As(err, &pe):
		mr.Verdict, mr.Reason = NoBuild, "does not apply: "+firstLine(pe.Detail)
	case err != nil || rec == nil:
		mr.Verdict, mr.Reason = HarnessError, fmt.Sprint(err)
	case rec.Failed():
		mr.Verdict = Killed
		for _, c := range rec.Changes {
			if strings.HasPrefix(c.ID, "fuzz/") {
				mr.Fuzz = true
			} else {
				mr.Catalogue = true
			}
			if len(mr.By) < 3 {
				mr.By = append(mr.By, c.String())
			}
		}
		if f := rec.Fuzz; f != nil && f.Fault != nil && f.Fault.Side == runs.Candidate {
			mr.Fuzz = true
			mr.By = append(mr.By, "fuzz: the kernel was lost under a program: "+firstLine(f.Fault.Error))
		}
		if rec.Candidate.Summary.Findings() || (rec.Candidate.Run != nil && len(rec.Candidate.Run.Failures) > 0) {
			mr.Catalogue = true
		}
		for _, p := range rec.Candidate.Summary.Kernel {
			if len(mr.By) < 3 {
				mr.By = append(mr.By, p)
			}
		}
	default:
		mr.Verdict = Survived
	}
	return mr
}

func entryFiles() string {
	seen := map[string]bool{}
	var out []string
	for _, e := range coverage.EntryPoints {
		if !seen[e.File] {
			seen[e.File] = true
			out = append(out, e.File)
		}
	}
	return strings.Join(out, ", ")
}
