package results

import (
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites/fuzz"
	"github.com/patchtest/patchtest/suites/runs"
)

func sampleFuzz() *runs.Fuzz {
	p := fuzz.Prog{Calls: []fuzz.Call{
		{Op: "pipe2", Args: []int64{0, 1, 0x800}},
		{Op: "mmap", Args: []int64{0, 1}},
		{Op: "vmsplice", Args: []int64{1, 0, 0, 4096, 1, 0}},
		{Op: "poke", Args: []int64{0, 0, 0}},
		{Op: "read", Args: []int64{0, 4096}},
	}}
	id := "fuzz/read/" + p.Shape()
	return &runs.Fuzz{Seed: 1, Programs: 10, Coverage: "outcome signatures", Differences: []runs.FuzzDifference{{
		ID: id, Step: 4, Call: p.Calls[4].String(), Program: p.Record(), Original: 9, File: runs.FuzzFile(id),
		Baseline:  fuzz.Trace{"0 pipe2(r0, r1, O_NONBLOCK) = 0", "1 mmap(b0, 1) = 0", "2 vmsplice(r1, b0, 0, 4096, 1, 0) = 4096 buf=1", "3 poke(b0, 0, 0) = 0", "4 read(r0, 4096) = 4096 data=aaaaaaaa"},
		Candidate: fuzz.Trace{"0 pipe2(r0, r1, O_NONBLOCK) = 0", "1 mmap(b0, 1) = 0", "2 vmsplice(r1, b0, 0, 4096, 1, 0) = 4096 buf=1", "3 poke(b0, 0, 0) = 0", "4 read(r0, 4096) = 4096 data=bbbbbbbb"},
		CSource:   fuzz.CSource(p, "test", nil),
	}}}
}

func TestFuzzDifferenceChange(t *testing.T) {
	f := sampleFuzz()
	c := fuzzChanges(f)
	if len(c) != 1 || c[0].ID != "fuzz/read/pipe2-mmap-vmsplice-poke-read" || c[0].From != "4096 data=aaaaaaaa" || c[0].To != "4096 data=bbbbbbbb" {
		t.Fatalf("changes %+v", c)
	}
	// A trace that ends early: the missing line is named.
	d := f.Differences[0]
	d.Candidate = d.Candidate[:4]
	if got := fuzzChange(d).To; got != "(no line)" {
		t.Errorf("short trace: to %q", got)
	}
}

// expect.yaml declares fuzz differences by ID glob and outcome glob;
// an exact outcome still matches only itself.
func TestExpectOutcomeGlobs(t *testing.T) {
	ch := fuzzChanges(sampleFuzz())[0]
	for _, tc := range []struct {
		x    Expectation
		want bool
	}{
		{Expectation{Cases: "fuzz/read/*vmsplice*", From: "* data=*", To: "* data=*"}, true},
		{Expectation{Cases: "fuzz/read/*"}, true},
		{Expectation{Cases: "fuzz/read/*", To: "-1 *"}, false},
		{Expectation{Cases: "fuzz/splice/*"}, false},
		{Expectation{Cases: "fuzz/read/*", From: "4096 data=aaaaaaaa"}, true},
		{Expectation{Cases: "fuzz/read/*", From: "4096"}, false},
	} {
		if got := tc.x.matches(ch); got != tc.want {
			t.Errorf("%+v matches %v: %v, want %v", tc.x, ch, got, tc.want)
		}
	}
	e := &Expect{Changes: []Expectation{{Cases: "fuzz/read/*", From: "* data=*", To: "* data=*"}}}
	v := e.Check([]Change{ch, {ID: "fuzz/splice/pipe2-splice", From: "0", To: "-1 EINVAL"}}, nil)
	if len(v.Expected) != 1 || len(v.Unexpected) != 1 || v.Unexpected[0].ID != "fuzz/splice/pipe2-splice" || len(v.Unmet) != 0 {
		t.Errorf("verdict %+v", v)
	}
}

// The record carries fuzzing everywhere: the change fails a run with no
// expect.yaml, the report shows both traces and the reproducer, and the
// run folder holds the C file.
func TestFuzzInRecord(t *testing.T) {
	r := NewRecord("")
	r.Fuzz = sampleFuzz()
	r.Changes = fuzzChanges(r.Fuzz)
	r.Baseline.Run, r.Candidate.Run = &runs.Suite{}, &runs.Suite{}
	if !r.Failed() {
		t.Error("an undeclared fuzz difference does not fail the run")
	}
	md := r.Markdown()
	for _, want := range []string{"fuzz/read/pipe2-mmap-vmsplice-poke-read", "- 4 read(r0, 4096) = 4096 data=aaaaaaaa", "+ 4 read(r0, 4096) = 4096 data=bbbbbbbb", "reproducer: fuzz/read_pipe2-mmap-vmsplice-poke-read.c", "10 programs"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(r.Dir, r.Fuzz.Differences[0].File))
	if err != nil || !strings.Contains(string(src), `begin(4, "read(r0, 4096)")`) {
		t.Errorf("reproducer in the run folder: %v\n%s", err, src)
	}
	back, err := LoadRecord(r.Dir)
	if err != nil || back.Fuzz == nil || len(back.Fuzz.Differences) != 1 {
		t.Fatalf("run.json round trip: %v %+v", err, back)
	}
	// A kernel lost under a program the other survived fails the run,
	// whichever it was: fuzzing stopped there, with its budget unspent.
	r.Changes, r.Fuzz.Differences = nil, nil
	if r.Failed() {
		t.Fatal("a run with no change and no fault fails")
	}
	for _, side := range []string{runs.Baseline, runs.Candidate} {
		r.Fuzz.Fault = &runs.FuzzFault{Side: side, Error: "panic"}
		if !r.Failed() {
			t.Errorf("a %s lost under a program does not fail the run", side)
		}
		if j := fuzzJUnit(r.Fuzz, nil); j.Failures != 1 {
			t.Errorf("a %s lost under a program: %d JUnit failures, want 1", side, j.Failures)
		}
	}
}

// fuzzRecord is a perf run with fuzzing: an undeclared difference, a
// declared one, and the candidate lost under a program.
func fuzzRecord() *Record {
	r := perfRecord()
	r.Fuzz = sampleFuzz()
	declared := r.Fuzz.Differences[0]
	declared.ID = "fuzz/vmsplice/pipe2-vmsplice"
	r.Fuzz.Differences = append(r.Fuzz.Differences, declared)
	r.Fuzz.Fault = &runs.FuzzFault{Side: runs.Candidate, Error: "Kernel panic - not syncing", Program: declared.Program}
	r.Changes = fuzzChanges(r.Fuzz)
	v := (&Expect{Changes: []Expectation{{Cases: "fuzz/vmsplice/*"}}}).Check(r.Changes, nil)
	r.Verdict = &v
	return r
}

// JUnit and KCIDB carry the fuzzing run: a declared difference passes,
// an undeclared one fails, and the candidate lost under a program fails
// the run's own test.
func TestFuzzJUnitKCIDB(t *testing.T) {
	r := fuzzRecord()
	j, err := r.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	js := string(j)
	for _, want := range []string{`<testsuite name="fuzz" tests="3" failures="2"`, `name="fuzz/read/pipe2-mmap-vmsplice-poke-read"`, `unexpected difference at read(r0, 4096)`, `the candidate kernel was lost under a program`} {
		if !strings.Contains(js, want) {
			t.Errorf("junit.xml lacks %q:\n%s", want, js)
		}
	}
	b, err := r.KCIDBJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateKCIDB(b); err != nil {
		t.Fatalf("kcidb.json does not validate: %v", err)
	}
	var d KCIDBData
	json.Unmarshal(b, &d)
	status := map[string]string{}
	for _, tt := range d.Tests {
		status[tt.Path] = tt.Status
	}
	for path, want := range map[string]string{
		"patchtest.fuzz.read.pipe2-mmap-vmsplice-poke-read": KCIDBFail,
		"patchtest.fuzz.vmsplice.pipe2-vmsplice":            KCIDBPass,
		"patchtest.fuzz.programs":                           KCIDBFail,
	} {
		if status[path] != want {
			t.Errorf("%s: %q, want %q (have %v)", path, status[path], want, status)
		}
	}
}

// report.html carries the fuzzing run: its figures, each difference with
// both traces (the differing lines marked), whether it is declared and a
// link to its reproducer, and the program a kernel was lost under, each
// call as its trace writes it.
func TestFuzzHTML(t *testing.T) {
	r := fuzzRecord()
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(string(b))
	for _, want := range []string{
		`<h2 id="fuzz">Differential fuzzing</h2>`,
		"10 programs on both kernels (seed 1",
		`<h3>fuzz/read/pipe2-mmap-vmsplice-poke-read <span class="unexpected">UNEXPECTED</span></h3>`,
		`<h3>fuzz/vmsplice/pipe2-vmsplice <span class="expected">expected</span></h3>`,
		"Minimized from 9 calls to 5; the traces part at line 4: read(r0, 4096).",
		"- 4 read(r0, 4096) = 4096 data=aaaaaaaa\n+ 4 read(r0, 4096) = 4096 data=bbbbbbbb",
		`<a href="fuzz/read_pipe2-mmap-vmsplice-poke-read.c">`,
		"The candidate kernel was lost under a program: Kernel panic - not syncing",
		"vmsplice(r1, b0, 0, 4096, 1, 0)\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	r.Fuzz = &runs.Fuzz{Programs: 3}
	if b, _ := r.HTML(); !strings.Contains(html.UnescapeString(string(b)), "No program's trace differed.") {
		t.Error("a fuzzing run with no difference says nothing of it")
	}
	r.Fuzz = nil
	if b, _ := r.HTML(); strings.Contains(string(b), `id="fuzz"`) {
		t.Error("a run without fuzzing shows a fuzzing section")
	}
}
