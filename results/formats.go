package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Format is one of a run's report formats: the name `results show -f`
// takes, the file a run folder holds it in, and how a record renders in
// it. Adding a format is one file with its render function and one line
// in Formats.
type Format struct {
	Name string
	// Aliases are other names show accepts for it.
	Aliases []string
	// File is the file in the run folder.
	File string
	// What says in a few words what it is for, for the help.
	What   string
	Render func(r *Record) ([]byte, error)
}

// ErrNotInRun means a record has nothing to render in a format (a run
// without perf samples has no benchstat file): a run writes no file for
// it, and show says so.
var ErrNotInRun = errors.New("nothing in this run for the format")

// Formats are the report formats, in the order a run writes them and the
// help lists them.
func Formats() []Format {
	return []Format{
		{Name: "json", File: "run.json", What: "the record itself (run.schema.json)", Render: renderJSON},
		{Name: "md", Aliases: []string{"markdown", ""}, File: "report.md", What: "the report for a reviewer", Render: renderMarkdown},
		{Name: "html", File: "report.html", What: "the report with plots, one self-contained page", Render: (*Record).HTML},
		{Name: "junit", File: "junit.xml", What: "JUnit XML for CI test views", Render: (*Record).JUnit},
		{Name: "kcidb", File: "kcidb.json", What: "KCIDB I/O for kcidb-submit", Render: (*Record).KCIDBJSON},
		{Name: "patchwork", File: "patchwork.json", What: "Patchwork checks, one per patch", Render: renderPatchwork},
		{Name: "benchstat-baseline", File: "perf-baseline.txt", What: "the baseline's perf samples in Go benchmark format", Render: benchfmtOf(runsBaseline)},
		{Name: "benchstat-candidate", File: "perf-candidate.txt", What: "the candidate's, for benchstat perf-baseline.txt perf-candidate.txt", Render: benchfmtOf(runsCandidate)},
	}
}

// FormatNames lists the formats' names, for the help and errors.
func FormatNames() string {
	var names []string
	for _, f := range Formats() {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

// LookupFormat finds a format by name or alias.
func LookupFormat(name string) (Format, bool) {
	for _, f := range Formats() {
		if f.Name == name {
			return f, true
		}
		for _, a := range f.Aliases {
			if a == name {
				return f, true
			}
		}
	}
	return Format{}, false
}

// Render renders the record in one of the formats a run writes.
func (r *Record) Render(format string) ([]byte, error) {
	f, ok := LookupFormat(format)
	if !ok {
		return nil, fmt.Errorf("format %q: want one of %s", format, FormatNames())
	}
	b, err := f.Render(r)
	if errors.Is(err, ErrNotInRun) {
		return nil, fmt.Errorf("run %s has no %s: %w", r.ID, f.Name, err)
	}
	return b, err
}

func renderJSON(r *Record) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	return append(b, '\n'), err
}

func renderMarkdown(r *Record) ([]byte, error) { return []byte(r.Markdown()), nil }

func renderPatchwork(r *Record) ([]byte, error) {
	b, err := json.MarshalIndent(r.PatchworkChecks(r.URL()), "", "  ")
	return append(b, '\n'), err
}

func benchfmtOf(role func(r *Record) *KernelResult) func(r *Record) ([]byte, error) {
	return func(r *Record) ([]byte, error) {
		if r.Perf == nil || r.Perf.Run == nil {
			return nil, fmt.Errorf("perf samples: %w", ErrNotInRun)
		}
		side := role(r)
		var b bytes.Buffer
		err := WriteBenchfmt(&b, r.Perf.Run, side.Role, side.Label())
		return b.Bytes(), err
	}
}

func runsBaseline(r *Record) *KernelResult  { return &r.Baseline }
func runsCandidate(r *Record) *KernelResult { return &r.Candidate }
