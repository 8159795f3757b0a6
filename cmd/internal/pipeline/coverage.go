package pipeline

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results/coverage"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
)

// CoverageFiles are the kernel sources whose coverage is reported: the
// splice family and what its cases reach on the way.
var CoverageFiles = []string{
	"fs/splice.c", "fs/pipe.c", "fs/read_write.c", "lib/iov_iter.c", "fs/remap_range.c",
	"mm/filemap.c", "mm/shmem.c", "mm/gup.c", "net/unix/af_unix.c", "net/ipv4/tcp.c",
}

// CoverageOptions say which kernel's coverage to measure, and by which
// cases.
type CoverageOptions struct {
	// Source and Patches are the kernel's, built with the coverage
	// fragment (configs/kernel/coverage.config) added to Fragments.
	Source, Patches string
	Base            string
	Fragments       []string
	Patterns        []string
	Boot            vm.BootOptions
	CacheDir        string
	// OutDir receives the run folder: coverage.info, per-case
	// tracefiles, html/, coverage.json.
	OutDir   string
	Progress func(string)
}

// CoverageResult is what a coverage run found: the figures per file and
// function, every entry point's error returns and flag checks with the
// cases that reach them, and where it wrote them.
type CoverageResult struct {
	Kernel  string                 `json:"kernel"`
	Cases   []string               `json:"cases"`
	NoData  map[string]string      `json:"no_data,omitempty"` // cases whose counters could not be read, and why
	Files   []coverage.FileSummary `json:"files"`
	Checks  []coverage.Check       `json:"checks"`
	Dir     string                 `json:"dir"`
	Elapsed time.Duration          `json:"elapsed_ns"`
}

// Unreached lists the checks the catalogue should reach and does not
// (coverage.Check.Gap).
func (r *CoverageResult) Unreached() []coverage.Check {
	var out []coverage.Check
	for _, c := range r.Checks {
		if c.Gap() {
			out = append(out, c)
		}
	}
	return out
}

// Coverage builds the coverage kernel, runs each selected case alone in
// one guest (reset the counters, run it, read them), turns each case's
// counters into a tracefile with lcov's geninfo, adds them up into
// coverage.info, renders html/ with genhtml, and reports per file and per
// entry-point check. A case that brings the guest down costs its data
// (named in NoData); the guest is booted again for the next.
func Coverage(ctx context.Context, o CoverageOptions) (*CoverageResult, error) {
	start := time.Now()
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	cases, err := suites.Catalogue().Select(o.Patterns...)
	if err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "coverage: --suite", Err: err}
	}
	source := o.Source
	if source == "" {
		source = kernels.DefaultSource
	}
	programs, libraries, apt := setup.ForSources([]string{source}, o.CacheDir)
	programs = append(append(programs, setup.BootWith(o.Boot.QEMU)...),
		setup.Need{Program: "geninfo", Package: "lcov", Why: "to read the kernel's coverage counters"},
		setup.Need{Program: "genhtml", Package: "lcov", Why: "to render the coverage as HTML"},
		setup.Need{Program: "gcov", Package: "gcc", Why: "to read the kernel's coverage counters"})
	plan := setup.Real.Check(ctx, programs, libraries, apt)
	if err := setup.Ensure(ctx, plan, false, lineWriter(progress)); err != nil {
		return nil, &vm.Error{Outcome: vm.Infrastructure, Msg: "host set-up", Err: err}
	}
	b := &kernels.Builder{CacheDir: o.CacheDir, Progress: progress}
	bld, err := b.Build(ctx, kernels.Request{Source: o.Source, Patches: o.Patches, Base: o.Base, Fragments: append(append([]string{}, o.Fragments...), "coverage")})
	if err != nil {
		return nil, fmt.Errorf("coverage kernel: %w", err)
	}
	obj, src, err := kernels.GcovTrees(bld)
	if err != nil {
		return nil, err
	}
	notes := filepath.Join(bld.Dir, kernels.GcovDir)
	boot := o.Boot
	boot.Kernel = bld.BzImage
	if boot.GuestBinary == "" {
		if boot.GuestBinary, _, err = build.Agent(ctx, o.CacheDir); err != nil {
			return nil, &vm.Error{Outcome: vm.Infrastructure, Msg: "guest binary", Err: err}
		}
	}
	dir := filepath.Join(o.OutDir, "coverage-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(filepath.Join(dir, "cases"), 0o755); err != nil {
		return nil, err
	}
	res := &CoverageResult{Kernel: bld.BzImage, Dir: dir, NoData: map[string]string{}}
	objects := make([]string, len(CoverageFiles))
	for i, f := range CoverageFiles {
		objects[i] = strings.TrimSuffix(f, ".c") + ".o"
	}
	// One copy of the notes (and sources) for the run: each case's
	// counters are written beside them in turn.
	scratch, err := os.MkdirTemp("", "patchtest-gcov-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	if out, err := exec.CommandContext(ctx, "cp", "-a", notes+"/.", scratch).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy the coverage notes: %v: %s", err, out)
	}
	perCase := map[string]coverage.Trace{}
	var infos []string
	var m *vm.Machine
	defer func() {
		if m != nil {
			m.Close()
		}
	}()
	for i, c := range cases {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if m == nil {
			if m, err = vm.Boot(ctx, boot); err != nil {
				return nil, fmt.Errorf("coverage: boot %s: %w", bld.BzImage, err)
			}
		}
		progress(fmt.Sprintf("coverage: %d/%d %s", i+1, len(cases), c.ID))
		tarball, err := caseCounters(ctx, m, c, objects)
		if err != nil {
			res.NoData[c.ID] = firstLine(err.Error())
			progress(fmt.Sprintf("coverage: %s: no counters: %v", c.ID, firstLine(err.Error())))
			m.Close()
			m = nil
			continue
		}
		info := filepath.Join(dir, "cases", strings.ReplaceAll(c.ID, "/", "_")+".info")
		if err := traceOf(ctx, tarball, obj, src, notes, scratch, c.ID, info); err != nil {
			return nil, fmt.Errorf("coverage: %s: %w", c.ID, err)
		}
		t, err := coverage.ReadTraceFile(info)
		if err != nil {
			return nil, err
		}
		perCase[c.ID] = t
		infos = append(infos, info)
		res.Cases = append(res.Cases, c.ID)
	}
	if len(infos) == 0 {
		return nil, errors.New("coverage: no case gave counters")
	}
	// The cases added up, then the splice family's files alone.
	sum := filepath.Join(dir, "cases", "all.info")
	args := []string{"--quiet", "--rc", "lcov_branch_coverage=1", "-o", sum}
	for _, in := range infos {
		args = append(args, "-a", in)
	}
	if out, err := exec.CommandContext(ctx, "lcov", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("lcov -a: %v: %s", err, tail(string(out), 10))
	}
	total := filepath.Join(dir, "coverage.info")
	args = []string{"--quiet", "--rc", "lcov_branch_coverage=1", "--extract", sum}
	for _, f := range CoverageFiles {
		args = append(args, "*/"+f)
	}
	if out, err := exec.CommandContext(ctx, "lcov", append(args, "-o", total)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("lcov --extract: %v: %s", err, tail(string(out), 10))
	}
	if out, err := exec.CommandContext(ctx, "genhtml", "--quiet", "--branch-coverage", "--legend", "-t", "patchtest coverage", "-o", filepath.Join(dir, "html"), total).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("genhtml: %v: %s", err, tail(string(out), 10))
	}
	all, err := coverage.ReadTraceFile(total)
	if err != nil {
		return nil, err
	}
	res.Files = coverage.Summarize(all, CoverageFiles)
	res.Checks, err = coverage.Checks(func(file string) (string, error) {
		b, err := os.ReadFile(filepath.Join(notes, file))
		return string(b), err
	}, perCase)
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	b2, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "coverage.json"), append(b2, '\n'), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// caseCounters runs case c alone in m between a reset and a read of the
// counters, and returns the tar stream of .gcda files the guest wrote.
func caseCounters(ctx context.Context, m *vm.Machine, c *suites.Case, objects []string) ([]byte, error) {
	run := func(argv []string, stdout io.Writer) error {
		var stderr bytes.Buffer
		code, err := m.Run(ctx, argv, nil, stdout, &stderr)
		if err == nil && code != 0 {
			err = fmt.Errorf("%s exited %d: %s", strings.Join(argv, " "), code, strings.TrimSpace(stderr.String()))
		}
		return err
	}
	if err := run(proto.GcovReset, io.Discard); err != nil {
		return nil, err
	}
	// The case's own result stream is not read: its outcome is the
	// catalogue run's business, its coverage this run's.
	if err := run([]string{proto.Init, "suites", "run", c.ID}, io.Discard); err != nil {
		var e *vm.Error
		if errors.As(err, &e) {
			return nil, err // the guest is gone
		}
	}
	var out bytes.Buffer
	if err := run(proto.GcovDump(objects...), &out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// traceOf unpacks a case's .gcda files into work, a copy of the build's
// notes (which hold the sources too), runs geninfo there, and writes the
// tracefile to info with the sources' paths pointing at the copies kept
// with the build, named for the case. The counters are removed after.
func traceOf(ctx context.Context, tarball []byte, obj, src, notes, work, name, info string) error {
	prefix := strings.TrimPrefix(obj, "/") + "/"
	tr := tar.NewReader(bytes.NewReader(tarball))
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read the counters: %w", err)
		}
		rel := strings.TrimPrefix(h.Name, prefix)
		if rel == h.Name || strings.Contains(rel, "..") {
			continue // not of this build's object tree
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		p := filepath.Join(work, rel)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		defer os.Remove(p)
		n++
	}
	if n == 0 {
		return fmt.Errorf("the guest gave no counters of %s", obj)
	}
	raw := info + ".raw"
	cmd := exec.CommandContext(ctx, "geninfo", "--quiet", "--rc", "lcov_branch_coverage=1", "--no-external",
		"--base-directory", src, "--test-name", strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(name), "-o", raw, work)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("geninfo: %v: %s", err, tail(string(out), 10))
	}
	defer os.Remove(raw)
	b, err := os.ReadFile(raw)
	if err != nil {
		return err
	}
	// The .gcno files name the sources in the shared tree, which the next
	// build changes: point at the copies kept with the build.
	b = bytes.ReplaceAll(b, []byte("SF:"+src+"/"), []byte("SF:"+notes+"/"))
	return os.WriteFile(info, b, 0o644)
}
