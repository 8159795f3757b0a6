package results

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

func record(changes []Change, v *Verdict, cand ProblemsSummary) *Record {
	run := &runs.Suite{Results: []suites.CaseResult{{ID: "a/b/c", Obs: obs(suites.TBool, "yes")}}}
	return &Record{
		ID:        "20260101T000000Z",
		Baseline:  KernelResult{Role: "baseline", BzImage: "/k/stock", Run: run},
		Candidate: KernelResult{Role: "candidate", BzImage: "/k/patched", Run: run, Summary: cand},
		Changes:   changes, Verdict: v,
	}
}

func TestFailedAndReport(t *testing.T) {
	ch := []Change{{ID: "vmsplice/alias/read", From: "aliasing:aliased", To: "aliasing:copied"}}
	for _, tc := range []struct {
		name   string
		rec    *Record
		failed bool
		want   []string
	}{
		{"nothing changed", record(nil, nil, ProblemsSummary{}), false, []string{"No observation changed.", "only expected changes"}},
		{"change without expectations", record(ch, nil, ProblemsSummary{}), true, []string{"no expect.yaml", "aliasing:aliased -> aliasing:copied"}},
		{"expected change", record(ch, &Verdict{Expected: ch}, ProblemsSummary{}), false, []string{"1 declared in expect.yaml, 0 not", "Expected changes:"}},
		{"unexpected change", record(ch, &Verdict{Unexpected: ch}, ProblemsSummary{}), true, []string{"UNEXPECTED changes:", "needs a look"}},
		{"unmet expectation", record(nil, &Verdict{Unmet: []Expectation{{Cases: "tee/*", To: "result:0"}}}, ProblemsSummary{}), true, []string{"No observation changed."}},
		{"candidate crash", record(nil, nil, ProblemsSummary{Crashes: []string{"x/y/z: kernel panic"}}), true, []string{"crash: x/y/z: kernel panic"}},
		{"candidate warning", record(nil, nil, ProblemsSummary{Kmsg: []string{"x/y/z: <4> WARNING: at fs/splice.c"}}), true, []string{"kernel log: x/y/z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.Failed(); got != tc.failed {
				t.Errorf("Failed() = %v; want %v", got, tc.failed)
			}
			md := tc.rec.Markdown()
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("report lacks %q:\n%s", w, md)
				}
			}
			for i, l := range strings.Split(md, "\n") {
				if len([]rune(l)) > 72 && !strings.Contains(l, "/") {
					t.Errorf("line %d longer than 72 columns: %q", i+1, l)
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(&runs.Suite{
		BootReports: []string{"warning: WARNING: CPU: 0 PID: 1 at init/main.c:1 x"},
		Failures:    []string{"guest lost between cases: lost connection"},
		Results: []suites.CaseResult{
			{ID: "a/b/c", Invariant: []string{"broken"}},
			{ID: "a/b/d", Crash: "Kernel panic\nmore"},
			{ID: "a/b/e", Error: "hung: no result", Hang: "hung task: INFO: task x blocked\nmore"},
			{ID: "a/b/f", Kmsg: []string{"<4> WARNING"}},
			{ID: "a/b/g", Error: "setup: no such file"},
			{ID: "a/b/h", NotRun: "the run was interrupted"},
			{ID: "a/b/i", Obs: obs(suites.TBool, "true"), Wedged: true},
		},
	}, testHeadline)
	if len(s.Invariants) != 1 || s.Crashes[0] != "a/b/d: Kernel panic" || len(s.Kmsg) != 1 {
		t.Errorf("summary %+v", s)
	}
	if len(s.Hangs) != 1 || s.Hangs[0] != "a/b/e: hung: no result; hung task: INFO: task x blocked" {
		t.Errorf("hangs %q", s.Hangs)
	}
	if len(s.Errors) != 1 || len(s.NotRun) != 1 || s.NotRun[0] != "a/b/h: the run was interrupted" {
		t.Errorf("errors %q, not run %q", s.Errors, s.NotRun)
	}
	// Boot reports, failures outside cases and a wedge are the kernel's.
	if len(s.Kernel) != 3 || !strings.HasPrefix(s.Kernel[0], "while booting: warning: ") || !strings.HasPrefix(s.Kernel[2], "a/b/i: ") {
		t.Errorf("kernel %q", s.Kernel)
	}
	if !s.Findings() {
		t.Error("no findings")
	}
	if (ProblemsSummary{Errors: []string{"x"}, NotRun: []string{"y"}}).Findings() {
		t.Error("a harness error or a case not run counted as the kernel's finding")
	}
	if s := Summarize(nil, testHeadline); s.Findings() {
		t.Errorf("a run that never started has findings: %+v", s)
	}
}

func TestJUnit(t *testing.T) {
	results := []suites.CaseResult{
		{ID: "vmsplice/alias/read", Obs: obs(suites.TAliasing, "copied")},
		{ID: "security/readonly/dirty-pipe", Obs: obs(suites.TIntegrity, "differs at byte 0"), Invariant: []string{"modified"}},
		{ID: "tee/x/crash", Crash: "Kernel panic - not syncing"},
		{ID: "tee/x/setup", Error: "setup: pipe2: EMFILE"},
		{ID: "tee/x/skip", Obs: obs(suites.TSkip, "no AF_ALG")},
	}
	rec := record([]Change{{ID: "vmsplice/alias/read", From: "aliasing:aliased", To: "aliasing:copied"}}, &Verdict{Unexpected: []Change{{ID: "vmsplice/alias/read", From: "aliasing:aliased", To: "aliasing:copied"}}}, ProblemsSummary{})
	rec.Candidate.Run = &runs.Suite{Release: "6.12.117", Results: results}
	b, err := rec.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	if len(got.Suites) != 2 {
		t.Fatalf("%d suites", len(got.Suites))
	}
	c := got.Suites[1]
	if c.Tests != 5 || c.Failures != 3 || c.Errors != 1 || c.Skipped != 1 {
		t.Errorf("candidate suite: tests %d failures %d errors %d skipped %d; want 5 3 1 1", c.Tests, c.Failures, c.Errors, c.Skipped)
	}
	if c.Cases[0].Classname != "vmsplice.alias" || c.Cases[0].Failure == nil || !strings.Contains(c.Cases[0].Failure.Text, "unexpected change") {
		t.Errorf("first case %+v", c.Cases[0])
	}
}

func TestWriteAndLoadRecord(t *testing.T) {
	rec := record(nil, nil, ProblemsSummary{})
	rec.Schema = SchemaVersion
	dir := t.TempDir()
	if err := rec.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"run.json", "report.md", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(rec.Dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	got, err := LoadRecord(rec.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rec.ID || len(got.Candidate.Run.Results) != 1 {
		t.Errorf("loaded %+v", got)
	}
	if _, err := got.Side("neither"); err == nil {
		t.Error("Side accepted an unknown role")
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"schema": 99}`), 0o644)
	if _, err := LoadRecord(filepath.Join(dir, "bad.json")); err == nil {
		t.Error("a record of another schema was accepted")
	}
}

func TestRender(t *testing.T) {
	r := perfRecord()
	for _, f := range Formats() {
		f := f.Name
		b, err := r.Render(f)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
		}
	}
	if _, err := r.Render("pdf"); err == nil {
		t.Error("pdf accepted")
	}
	r.Perf = nil
	if _, err := r.Render("benchstat-baseline"); err == nil {
		t.Error("benchstat without perf accepted")
	}
}

// Two runs started in the same second keep both their folders; writing
// a run again reuses its own.
func TestWriteSameSecond(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	a, b := fakeRecord("20261129T120000Z", t0, 0, false), fakeRecord("20261129T120000Z", t0, 1, false)
	if err := a.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || a.Dir == b.Dir || b.ID != "20261129T120000Z-2" {
		t.Errorf("IDs %s and %s, folders %s and %s", a.ID, b.ID, a.Dir, b.Dir)
	}
	if err := a.Write(dir); err != nil || a.ID != "20261129T120000Z" {
		t.Errorf("rewrite: %s, %v", a.ID, err)
	}
	if err := schema.Record(b); err != nil {
		t.Errorf("suffixed ID does not validate: %v", err)
	}
}

// A verdict says what weakens it: a candidate that cannot report its
// warnings, kernels that differ beyond the patch.
func TestCaveats(t *testing.T) {
	r := record(nil, nil, ProblemsSummary{})
	if q := r.Caveats(); len(q) != 0 || strings.Contains(r.Markdown(), "Caveat") {
		t.Errorf("caveats on a clean run: %q", q)
	}
	r.Candidate.Capabilities = &runs.Capabilities{Config: "x", Limits: []runs.Limit{{Option: "CONFIG_BUG", Effect: "kernel warnings cannot be detected"}}}
	r.Mismatch = &Mismatch{Release: "6.12.1 vs 6.13.0"}
	md := r.Markdown()
	for _, want := range []string{"kernel warnings cannot be detected (CONFIG_BUG is not set)", "Caveat: the candidate cannot report everything", "Caveat: the kernels differ", "releases differ: 6.12.1 vs 6.13.0"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// testHeadline names a kernel log by its first line, as console.Headline
// does for a log without a report's start.
func testHeadline(lines []string) string { return lines[0] }

// A run folder holds every format's file, and each is what show renders
// in that format; a run without perf has no benchstat files.
func TestWriteEveryFormat(t *testing.T) {
	for _, withPerf := range []bool{true, false} {
		r := perfRecord()
		if !withPerf {
			r.Perf = nil
		}
		if err := r.Write(t.TempDir()); err != nil {
			t.Fatal(err)
		}
		for _, f := range Formats() {
			b, err := os.ReadFile(filepath.Join(r.Dir, f.File))
			if !withPerf && strings.HasPrefix(f.Name, "benchstat") {
				if err == nil {
					t.Errorf("%s written for a run without perf", f.File)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", f.Name, err)
				continue
			}
			if f.Name == "json" {
				continue // Write set the record's folder after it was rendered
			}
			want, err := r.Render(f.Name)
			if err != nil || !bytes.Equal(b, want) {
				t.Errorf("%s: the file is not what show renders (%v)", f.File, err)
			}
		}
	}
}
