package results

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/patchtest/patchtest/suites/fuzz"
)

// FuzzRun is a differential fuzzing run: the same generated programs on
// both kernels, and the differences between their traces.
type FuzzRun struct {
	Seed   uint64        `json:"seed"`
	Budget time.Duration `json:"budget_ns"`
	Wall   time.Duration `json:"wall_ns"`
	// Programs ran on both kernels; PerSecond is their rate.
	Programs  int     `json:"programs"`
	PerSecond float64 `json:"programs_per_second"`
	// Flaky programs gave two traces on one kernel: never a finding.
	Flaky int `json:"flaky"`
	// Corpus is the number of programs kept (each reached an outcome no
	// earlier one had), CorpusFile where they are kept across runs.
	Corpus     int    `json:"corpus"`
	CorpusFile string `json:"corpus_file,omitempty"`
	// Signatures is the coverage reached: distinct (operation, outcome
	// class) pairs seen on the candidate; Coverage says what it counts.
	Signatures int    `json:"signatures"`
	Coverage   string `json:"coverage"`
	// Differences are the confirmed, minimized differences, one per ID.
	Differences []FuzzDifference `json:"differences"`
	// Fault is set when a kernel crashed or hung under a program (Side,
	// the program and what the host saw); the run stopped there.
	Fault *FuzzFault `json:"fault,omitempty"`
}

// FuzzFault is a kernel lost under a fuzz program.
type FuzzFault struct {
	Side    string    `json:"side"`
	Error   string    `json:"error"`
	Program fuzz.Prog `json:"program"`
}

// FuzzDifference is one program whose trace differs between the
// kernels, minimized: the smallest program found that still differs at
// the same operation.
type FuzzDifference struct {
	// ID is derived from the minimized program's shape:
	// fuzz/OP/SHAPE, OP the first differing call's operation.
	ID string `json:"id"`
	// Step is the first differing line; Call its call.
	Step int    `json:"step"`
	Call string `json:"call"`
	// Baseline and Candidate are the two traces of Program.
	Baseline  fuzz.Trace `json:"baseline"`
	Candidate fuzz.Trace `json:"candidate"`
	Program   fuzz.Prog  `json:"program"`
	// Original is the length of the program as generated.
	Original int `json:"original_calls"`
	// CSource is the reproducer; File its path in the run folder.
	CSource string `json:"c_source"`
	File    string `json:"file"`
}

// Change is the difference as the catalogue's changes are: its ID, and
// the two outcomes of the first differing call.
func (d FuzzDifference) Change() Change {
	_, from := fuzz.Step(d.Baseline.Line(d.Step))
	_, to := fuzz.Step(d.Candidate.Line(d.Step))
	return Change{ID: d.ID, From: orMissing(from), To: orMissing(to)}
}

func orMissing(s string) string {
	if s == "" {
		return "(no line)"
	}
	return s
}

// Changes are the run's differences as changes.
func (f *FuzzRun) Changes() []Change {
	var out []Change
	for _, d := range f.Differences {
		out = append(out, d.Change())
	}
	return out
}

// writeFuzz writes each difference's reproducer into the run folder.
func (r *Record) writeFuzz() error {
	if r.Fuzz == nil || len(r.Fuzz.Differences) == 0 {
		return nil
	}
	dir := filepath.Join(r.Dir, "fuzz")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range r.Fuzz.Differences {
		if err := renameio.WriteFile(filepath.Join(r.Dir, d.File), []byte(d.CSource), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// FuzzFile is the reproducer's path in a run folder for a difference ID.
func FuzzFile(id string) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(strings.TrimPrefix(id, "fuzz/"))
	return filepath.Join("fuzz", name+".c")
}

// FuzzLines render the fuzzing run for the reports.
func (f *FuzzRun) Lines() []string {
	var out []string
	w := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	w("Differential fuzzing (seed %d, %v): %d programs on both kernels, %.1f/s; corpus %d; %d outcome signatures (%s); %d flaky.",
		f.Seed, f.Budget.Round(time.Second), f.Programs, f.PerSecond, f.Corpus, f.Signatures, f.Coverage, f.Flaky)
	if f.Fault != nil {
		w("  The %s kernel was lost under a program: %s", f.Fault.Side, f.Fault.Error)
		for _, c := range f.Fault.Program.Calls {
			w("    %s", c)
		}
	}
	if len(f.Differences) == 0 {
		w("  No program's trace differed.")
	}
	for _, d := range f.Differences {
		w("")
		w("  %s (minimized from %d calls to %d)", d.ID, d.Original, len(d.Program.Calls))
		w("    first difference, line %d: %s", d.Step, d.Call)
		for i := range max(len(d.Baseline), len(d.Candidate)) {
			b, c := d.Baseline.Line(i), d.Candidate.Line(i)
			if b == c {
				w("      %s", b)
				continue
			}
			w("    - %s", b)
			w("    + %s", c)
		}
		w("    reproducer: %s (gcc -static -o repro %s; patchtest boot --kernel K --program $PWD/repro -- $PWD/repro)", d.File, filepath.Base(d.File))
	}
	return out
}
