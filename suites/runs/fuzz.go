package runs

import (
	"path/filepath"
	"strings"
	"time"
)

// Fuzz is a differential fuzzing run: the same generated programs on
// both kernels, and the differences between their traces.
type Fuzz struct {
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
	// Edges is the KCOV signal reached on the candidate (basic blocks and
	// edges in the splice family's functions); 0 without KCOV.
	Edges int `json:"edges,omitempty"`
	// Differences are the confirmed, minimized differences, one per ID.
	Differences []FuzzDifference `json:"differences"`
	// Fault is set when a kernel crashed or hung under a program (Side,
	// the program and what the host saw); the run stopped there.
	Fault *FuzzFault `json:"fault,omitempty"`
}

// FuzzFault is a kernel lost under a fuzz program.
type FuzzFault struct {
	Side    string      `json:"side"`
	Error   string      `json:"error"`
	Program FuzzProgram `json:"program"`
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
	Baseline  FuzzTrace   `json:"baseline"`
	Candidate FuzzTrace   `json:"candidate"`
	Program   FuzzProgram `json:"program"`
	// Original is the length of the program as generated.
	Original int `json:"original_calls"`
	// CSource is the reproducer; File its path in the run folder.
	CSource string `json:"c_source"`
	File    string `json:"file"`
}

// FuzzFile is the reproducer's path in a run folder for a difference ID.
func FuzzFile(id string) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(strings.TrimPrefix(id, "fuzz/"))
	return filepath.Join("fuzz", name+".c")
}

// FuzzCall is one call of a fuzz program: an operation and its
// arguments, whose meaning package fuzz gives.
type FuzzCall struct {
	Op   string  `json:"op"`
	Args []int64 `json:"args"`
}

// FuzzProgram is a fuzz program as a record keeps it (package fuzz's
// Prog, as data).
type FuzzProgram struct {
	Calls []FuzzCall `json:"calls"`
}

// FuzzTrace is what a fuzz program printed, one line per call (package
// fuzz's Trace).
type FuzzTrace []string

// Line is line i of t, or "(no line)" past its end.
func (t FuzzTrace) Line(i int) string {
	if i < 0 || i >= len(t) {
		return "(no line)"
	}
	return t[i]
}
