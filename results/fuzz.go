package results

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/patchtest/patchtest/suites/fuzz"
	"github.com/patchtest/patchtest/suites/runs"
)

// fuzzChange is the difference as the catalogue's changes are: its ID, and
// the two outcomes of the first differing call.
func fuzzChange(d runs.FuzzDifference) Change {
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

// fuzzChanges are the run's differences as changes.
func fuzzChanges(f *runs.Fuzz) []Change {
	var out []Change
	for _, d := range f.Differences {
		out = append(out, fuzzChange(d))
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

// fuzzLines render the fuzzing run for the reports.
func fuzzLines(f *runs.Fuzz) []string {
	var out []string
	w := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	w("Differential fuzzing (seed %d, %v): %d programs on both kernels, %.1f/s; corpus %d; %d outcome signatures (%s); %d flaky.",
		f.Seed, f.Budget.Round(time.Second), f.Programs, f.PerSecond, f.Corpus, f.Signatures, f.Coverage, f.Flaky)
	if f.Fault != nil {
		w("  The %s kernel was lost under a program: %s", f.Fault.Side, f.Fault.Error)
		for _, c := range fuzz.ProgOf(f.Fault.Program).Calls {
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
		w("    reproducer: %s (gcc -static -o repro %s; patchtest boot --kernel K --program $PWD/repro -- $PWD/repro, outside /tmp)", d.File, filepath.Base(d.File))
	}
	return out
}

// fuzzTrace renders both traces of a difference, the differing lines marked.
func fuzzTrace(d runs.FuzzDifference) string {
	var b strings.Builder
	for i := range max(len(d.Baseline), len(d.Candidate)) {
		bl, cl := d.Baseline.Line(i), d.Candidate.Line(i)
		if bl == cl {
			fmt.Fprintf(&b, "  %s\n", bl)
			continue
		}
		fmt.Fprintf(&b, "- %s\n+ %s\n", bl, cl)
	}
	return b.String()
}

// htmlFuzz is the fuzzing run as report.html shows it.
type htmlFuzz struct {
	Summary string
	// Fault is the kernel lost under a program, and the program.
	Fault   string
	Program []string
	Diffs   []htmlFuzzDiff
}

// htmlFuzzDiff is one difference: its ID, where the traces part, both
// traces with the differing lines marked, and its reproducer.
type htmlFuzzDiff struct {
	ID, Call, Trace, File string
	Step, Original, Calls int
	Expected              bool
}

// fuzzView is the fuzzing run for report.html; expected holds the IDs an
// expectation declares.
func fuzzView(f *runs.Fuzz, expected map[string]bool) *htmlFuzz {
	if f == nil {
		return nil
	}
	v := &htmlFuzz{Summary: fmt.Sprintf("%d programs on both kernels (seed %d, %v), %.1f/s; corpus %d; %d outcome signatures (%s); %d flaky, never a finding.",
		f.Programs, f.Seed, f.Budget.Round(time.Second), f.PerSecond, f.Corpus, f.Signatures, f.Coverage, f.Flaky)}
	if f.Fault != nil {
		v.Fault = fmt.Sprintf("The %s kernel was lost under a program: %s", f.Fault.Side, f.Fault.Error)
		for _, c := range fuzz.ProgOf(f.Fault.Program).Calls {
			v.Program = append(v.Program, c.String())
		}
	}
	for _, d := range f.Differences {
		v.Diffs = append(v.Diffs, htmlFuzzDiff{ID: d.ID, Call: d.Call, Trace: fuzzTrace(d), File: filepath.ToSlash(d.File),
			Step: d.Step, Original: d.Original, Calls: len(d.Program.Calls), Expected: expected[d.ID]})
	}
	return v
}

// fuzzJUnit is one test case for the fuzzing run (its figures; a failure
// when a kernel was lost under a program) and one per difference: a
// failure when no expectation declares it.
func fuzzJUnit(f *runs.Fuzz, unexpected map[string]Change) junitSuite {
	s := junitSuite{Name: "fuzz"}
	run := junitCase{Name: "fuzz/programs", Classname: "fuzz", Time: junitSeconds(f.Wall.Seconds()),
		SystemOut: fmt.Sprintf("%d programs, %.1f/s, seed %d, corpus %d, %d signatures, %d flaky", f.Programs, f.PerSecond, f.Seed, f.Corpus, f.Signatures, f.Flaky)}
	if f.Fault != nil {
		msg := fmt.Sprintf("the %s kernel was lost under a program: %s", f.Fault.Side, firstLine(f.Fault.Error))
		run.Failure = &junitMsg{Message: msg, Type: "kernel", Text: f.Fault.Error}
		s.Failures++
	}
	s.Cases = append(s.Cases, run)
	s.Tests++
	for _, d := range f.Differences {
		c := junitCase{Name: d.ID, Classname: classname(d.ID), SystemOut: fuzzTrace(d) + "reproducer: " + d.File}
		if ch, ok := unexpected[d.ID]; ok {
			c.Failure = &junitMsg{Message: "unexpected difference at " + d.Call + ": " + ch.From + " -> " + ch.To, Type: "kernel", Text: fuzzTrace(d)}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
	}
	return s
}

// fuzzTests are the fuzzing run's KCIDB tests on the candidate's build:
// one per difference (FAIL when undeclared, PASS when the series declares
// it), and the run itself (FAIL when the kernel was lost under a program).
func fuzzTests(f *runs.Fuzz, base string, unexpected map[string]Change, env *KCIDBEnvironment) []KCIDBTest {
	run := KCIDBTest{ID: base + ":fuzz/programs", BuildID: base, Origin: KCIDBOrigin, Path: "patchtest.fuzz.programs", Status: KCIDBPass,
		Duration: f.Wall.Seconds(), Environment: env,
		Comment: fmt.Sprintf("%d programs, %.1f/s, seed %d, %d flaky", f.Programs, f.PerSecond, f.Seed, f.Flaky),
		Misc:    map[string]any{"programs": f.Programs, "programs_per_second": f.PerSecond, "corpus": f.Corpus, "signatures": f.Signatures, "flaky": f.Flaky}}
	if f.Fault != nil && f.Fault.Side == runs.Candidate {
		run.Status, run.Comment = KCIDBFail, "the kernel was lost under a program: "+firstLine(f.Fault.Error)
		run.LogExcerpt = truncate(f.Fault.Error, maxLogExcerpt)
	}
	out := []KCIDBTest{run}
	for _, d := range f.Differences {
		t := KCIDBTest{ID: base + ":" + d.ID, BuildID: base, Origin: KCIDBOrigin, Path: kcidbPath("patchtest", d.ID), Status: KCIDBPass,
			Environment: env, Comment: "declared difference at " + d.Call, LogExcerpt: truncate(fuzzTrace(d), maxLogExcerpt),
			Misc: map[string]any{"reproducer": d.File}}
		if ch, ok := unexpected[d.ID]; ok {
			t.Status, t.Comment = KCIDBFail, "unexpected difference at "+d.Call+": "+ch.From+" -> "+ch.To
		}
		out = append(out, t)
	}
	return out
}
