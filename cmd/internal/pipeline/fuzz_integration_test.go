package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites/fuzz"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// Stock against the reference series, fuzzed: differences are found,
// each is declared in the series' expect.yaml or shown as unexpected,
// each has a reproducer in the run folder, and one reproducer, built
// with gcc -static, prints in each guest the trace patchtest recorded
// for that kernel: the difference, shown by a program a reviewer can run.
func TestIntegrationFuzzReference(t *testing.T) {
	vmtest.Integration(t)
	gcc := vmtest.Program(t, setup.Need{Program: "gcc", Package: "build-essential", Why: "to build a fuzz reproducer"})
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	series := filepath.Join("..", "..", "..", "kernels", "patches", "vmsplice-wrapper")
	o := Options{
		Baseline:   configs.KernelSpec{Source: "debian:6.12"},
		Candidate:  configs.KernelSpec{Source: "debian:6.12", Patches: series},
		Expect:     filepath.Join(series, "expect.yaml"),
		SkipSuites: true,
		Fuzz:       40 * time.Second,
		FuzzSeed:   1,
		Boot:       vm.BootOptions{GuestBinary: agent, CacheDir: cache, Accel: vm.TCG},
		CacheDir:   cache,
		OutDir:     t.TempDir(),
	}
	rec, err := Execute(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	f := rec.Fuzz
	if f == nil || f.Programs < 100 || f.Fault != nil {
		t.Fatalf("fuzz run %+v", f)
	}
	t.Logf("%d programs (%.1f/s), %d differences, %d flaky, corpus %d", f.Programs, f.PerSecond, len(f.Differences), f.Flaky, f.Corpus)
	if len(f.Differences) < 3 {
		t.Fatalf("%d differences between stock and a series that rewrites vmsplice", len(f.Differences))
	}
	if rec.Verdict == nil {
		t.Fatal("no verdict against expect.yaml")
	}
	declared := map[string]bool{}
	for _, c := range rec.Verdict.Expected {
		declared[c.ID] = true
	}
	shown := map[string]bool{}
	for _, c := range rec.Verdict.Unexpected {
		shown[c.ID] = true
	}
	md := rec.Markdown()
	for _, d := range f.Differences {
		if declared[d.ID] == shown[d.ID] {
			t.Errorf("%s is neither declared nor shown as unexpected (or both)", d.ID)
		}
		if _, err := os.Stat(filepath.Join(rec.Dir, d.File)); err != nil {
			t.Errorf("%s: no reproducer in the run folder: %v", d.ID, err)
		}
		if !strings.Contains(md, d.ID) || !strings.Contains(md, d.File) {
			t.Errorf("the report does not show %s with its reproducer", d.ID)
		}
	}
	if len(declared) == 0 {
		t.Error("no difference is one the series declares (vmsplice's own outcomes)")
	}
	if err := schema.Record(rec); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}

	// One reproducer in both guests: the shortest.
	d := slices.MinFunc(f.Differences, func(a, b runs.FuzzDifference) int { return len(a.Program.Calls) - len(b.Program.Calls) })
	// Not under /tmp: the guest mounts a tmpfs there, over what the
	// image carries.
	rdir, err := os.MkdirTemp(cache, "repro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rdir) })
	bin := filepath.Join(rdir, "repro")
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", bin, filepath.Join(rec.Dir, d.File)).CombinedOutput(); err != nil {
		t.Fatalf("gcc -static %s: %v\n%s", d.File, err, out)
	}
	for i, side := range []results.KernelResult{rec.Baseline, rec.Candidate} {
		want := d.Baseline
		if i == 1 {
			want = d.Candidate
		}
		b := vmtest.Boot(t, side.BzImage)
		b.GuestBinary, b.Programs, b.Clock = agent, []string{bin}, vm.Instructions
		m, err := vm.Boot(ctx, b)
		if err != nil {
			t.Fatalf("boot %s: %v", side.Role, err)
		}
		var out, stderr bytes.Buffer
		code, err := m.Run(ctx, []string{bin}, nil, &out, &stderr)
		m.Close()
		if err != nil || code != 0 {
			t.Fatalf("%s: reproducer: exit %d, %v: %s", side.Role, code, err, stderr.String())
		}
		got := fuzz.Trace(strings.Split(strings.TrimRight(out.String(), "\n"), "\n"))
		if l := fuzz.FirstDiff(got, want); l >= 0 {
			t.Errorf("%s: the reproducer of %s printed, at line %d, %q where patchtest traced %q", side.Role, d.ID, l, got.Line(l), want.Line(l))
		}
	}
}

// Stock against stock: the same programs give the same traces, none
// differs and none is flaky.
func TestIntegrationFuzzNull(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	stock := configs.KernelSpec{Source: "debian:6.12"}
	o := Options{
		Baseline: stock, Candidate: stock, Null: true, SkipSuites: true,
		Fuzz: 60 * time.Second, FuzzSeed: 5,
		Boot:     vm.BootOptions{GuestBinary: agent, CacheDir: cache, Accel: vm.TCG},
		CacheDir: cache,
		OutDir:   t.TempDir(),
	}
	rec, err := Execute(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	f := rec.Fuzz
	if f == nil || f.Programs < 200 {
		t.Fatalf("fuzz run %+v", f)
	}
	t.Logf("%d programs (%.1f/s), %d signatures", f.Programs, f.PerSecond, f.Signatures)
	if len(f.Differences) != 0 || f.Flaky != 0 || f.Fault != nil || rec.Failed() {
		t.Errorf("null run: %d differences, %d flaky, fault %v:\n%s", len(f.Differences), f.Flaky, f.Fault, rec.Markdown())
	}
	if f.Edges != 0 || !strings.Contains(f.Coverage, "no KCOV") {
		t.Errorf("a kernel without KCOV: %d edges, coverage %q", f.Edges, f.Coverage)
	}
}

// Stock built with KCOV against itself: the candidate's coverage of the
// splice family is read per program (blocks and edges), programs are
// kept for it, and coverage changes no trace: no difference, none flaky.
func TestIntegrationFuzzKcov(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	stock := configs.KernelSpec{Source: "debian:6.12", Fragments: []string{"kcov"}}
	o := Options{
		Baseline: stock, Candidate: stock, Null: true, SkipSuites: true,
		Fuzz: 40 * time.Second, FuzzSeed: 9,
		Boot:     vm.BootOptions{GuestBinary: agent, CacheDir: cache, Accel: vm.TCG},
		CacheDir: cache,
		OutDir:   t.TempDir(),
	}
	rec, err := Execute(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	f := rec.Fuzz
	if f == nil || f.Programs < 50 {
		t.Fatalf("fuzz run %+v", f)
	}
	t.Logf("%d programs (%.1f/s), %d signatures, %d blocks and edges, corpus %d: %s", f.Programs, f.PerSecond, f.Signatures, f.Edges, f.Corpus, f.Coverage)
	if f.Edges < 200 || !strings.Contains(f.Coverage, "KCOV on the candidate") {
		t.Errorf("KCOV kernel: %d blocks and edges, coverage %q", f.Edges, f.Coverage)
	}
	if f.Corpus < 5 {
		t.Errorf("corpus of %d programs after %d", f.Corpus, f.Programs)
	}
	if len(f.Differences) != 0 || f.Flaky != 0 || f.Fault != nil || rec.Failed() {
		t.Errorf("null run: %d differences, %d flaky, fault %v:\n%s", len(f.Differences), f.Flaky, f.Fault, rec.Markdown())
	}
}
