package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/patchtest/patchtest/suites/runs"
)

// SchemaVersion is the version of the run record's JSON schema.
const SchemaVersion = 2

// PerfResult is the perf part of a run.
type PerfResult struct {
	Run     *runs.Perf   `json:"run"`
	Stats   PerfStats    `json:"stats"`
	Changes []PerfChange `json:"changes"`
	FailPct float64      `json:"fail_pct"`
	// Regressions are the undeclared significant regressions of at least
	// FailPct: they fail the run.
	Regressions []PerfChange `json:"regressions,omitempty"`
	// Error is set when the perf run ended early: the candidate kernel
	// failed under a benchmark (CandidateFault), or the harness failed.
	Error          string `json:"error,omitempty"`
	CandidateFault bool   `json:"candidate_fault,omitempty"`
	// BaselineFault is set when the baseline kernel failed under a
	// benchmark: no comparison beyond that point.
	BaselineFault bool `json:"baseline_fault,omitempty"`
	// Null is set when both sides ran the same kernel.
	Null bool `json:"null,omitempty"`
	// Copies are the benchmarks' copies per byte (see Copies).
	Copies []CopyRow `json:"copies,omitempty"`
	// Suspect says why the measurement itself is in doubt (see Suspect):
	// the calibration moved. Improvements are then not claimed.
	Suspect string `json:"suspect,omitempty"`
}

// KernelResult is one side of a run.
type KernelResult struct {
	Role    string          `json:"role"`
	Spec    runs.KernelSpec `json:"spec"`
	BzImage string          `json:"bzimage"`
	Build   *runs.Build     `json:"build,omitempty"`
	// Capabilities say what the kernel can report, read from its
	// configuration before it booted.
	Capabilities *runs.Capabilities `json:"capabilities,omitempty"`
	Run          *runs.Suite        `json:"run"`
	Summary      ProblemsSummary    `json:"summary"`
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
	// TreeBase is set when the baseline is the candidate's own tree at
	// its base commit.
	TreeBase *TreeBase `json:"tree_base,omitempty"`
	// PerPatch is set when the series ran patch by patch: the candidate
	// is then the whole series, and each patch has its column.
	PerPatch *PerPatch `json:"per_patch,omitempty"`
	// Shard is set on one shard of a run split over machines.
	Shard *Shard `json:"shard,omitempty"`
	// Night is set on a nightly run of a moving tree.
	Night *Night `json:"night,omitempty"`
	// Incomplete is set when the run was interrupted or the harness
	// failed part way: what was done is kept, the rest is not run.
	Incomplete bool        `json:"incomplete,omitempty"`
	Expect     string      `json:"expect,omitempty"`
	Verdict    *Verdict    `json:"verdict,omitempty"`
	Perf       *PerfResult `json:"perf,omitempty"`
	// Fuzz is set when the run fuzzed both kernels with the same
	// programs (its differences are among Changes).
	Fuzz *runs.Fuzz `json:"fuzz,omitempty"`
	// Dashboard is the base address of the dashboard that serves the
	// run's results folder (the configuration's dashboard_url); the
	// run's links point at its page there. None when empty.
	Dashboard string `json:"dashboard,omitempty"`
	Dir       string `json:"dir"`

	log *eventLog
}

// Failed reports whether the run found something a reviewer must look
// at: an unexpected change, or an invariant failure, crash or kernel
// warning on the candidate.
func (r *Record) Failed() bool {
	if r.Night != nil {
		// A night fails on news (a crash is news too: an outcome); what
		// was present last night is known already.
		return r.Night.Morning.Anything()
	}
	if r.Verdict != nil {
		if len(r.Verdict.Unexpected) > 0 || len(r.Verdict.Unmet) > 0 {
			return true
		}
	} else if len(r.Changes) > 0 {
		return true
	}
	if r.Perf != nil && (len(r.Perf.Regressions) > 0 || r.Perf.CandidateFault || r.Perf.BaselineFault) {
		return true
	}
	if r.PerPatch != nil && r.PerPatch.Failed() {
		return true
	}
	if r.Fuzz != nil && r.Fuzz.Fault != nil {
		// Either kernel lost under a program the other survived: a
		// crash the patch brings, or one it takes away (as a perf
		// run's lost baseline fails it); never "no problems" with the
		// budget unspent. Both lost is the harness's (remote.bothLost).
		return true
	}

	if b := r.Baseline.Run; b != nil && len(b.Failures) > 0 && len(b.Boots) == 0 {
		return true // the baseline never booted: nothing was compared
	}
	return r.Candidate.Summary.Findings()
}

// Summarize lists what is wrong on one kernel by itself; headline names
// a kernel log in one line (console.Headline).
func Summarize(run *runs.Suite, headline func(lines []string) string) ProblemsSummary {
	var s ProblemsSummary
	if run == nil {
		return s // the kernel's run never started
	}
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
			s.Kmsg = append(s.Kmsg, r.ID+": "+headline(r.Kmsg))
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

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// NewRecord starts the record of a run that begins now; its events are
// kept for the run's folder as they are logged.
func NewRecord(expect string) *Record {
	r := &Record{Schema: SchemaVersion, Started: time.Now().UTC(), Host: hostDesc(), Expect: expect, log: &eventLog{}}
	r.ID = r.Started.Format("20060102T150405Z")
	return r
}

// Log keeps e in the run's event log (events.jsonl), stamped with the
// time now.
func (r *Record) Log(e Event) Event {
	e.Time = time.Now()
	if r.log == nil {
		r.log = &eventLog{}
	}
	r.log.add(e)
	return e
}

func hostDesc() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s %s/%s, %d CPUs", h, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

// Write stores the record in a new folder of dir in every format of
// Formats that has something to show (run.json, report.md, …), with the
// fuzzer's reproducers, the event log and a shard's manifest, each file
// written atomically.
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
	if err := r.writeFuzz(); err != nil {
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
	if r.Shard != nil {
		m, err := json.MarshalIndent(r.Shard, "", "  ")
		if err != nil {
			return err
		}
		if err := renameio.WriteFile(filepath.Join(r.Dir, "shard.json"), append(m, '\n'), 0o644); err != nil {
			return err
		}
	}
	for _, f := range Formats() {
		b, err := f.Render(r)
		if errors.Is(err, ErrNotInRun) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.File, err)
		}
		if err := renameio.WriteFile(filepath.Join(r.Dir, f.File), b, 0o644); err != nil {
			return err
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
	return DecodeRecord(p, b)
}

// DecodeRecord decodes a run.json read from name.
func DecodeRecord(name string, b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a patchtest run record: %w", name, err)
	}
	if r.Schema != SchemaVersion && r.Schema != 1 { // schema 2 only added fields
		return nil, fmt.Errorf("%s: schema %d, this patchtest reads %d", name, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// Side returns the kernel result for role (baseline or candidate).
func (r *Record) Side(role string) (*KernelResult, error) {
	switch role {
	case runs.Baseline:
		return &r.Baseline, nil
	case runs.Candidate:
		return &r.Candidate, nil
	}
	return nil, fmt.Errorf("side %q: want baseline or candidate", role)
}
