package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/kconfig"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/console"
)

// perPatchRun is a series run patch by patch, with the longest prefix that
// ran as the run's candidate.
type perPatchRun struct {
	results.PerPatch
	last       *results.KernelResult
	lastBoot   vm.BootOptions
	lastConfig *kconfig.Config
	// boots are the columns' kernels (empty where a column did not run).
	boots []vm.BootOptions
}

// perfBetween measures each patch that ran against the kernel before it
// (the base for the first): what each patch costs.
func (pp *perPatchRun) perfBetween(ctx context.Context, o Options, base vm.BootOptions, expect *results.Expect, emit func(results.Event)) error {
	prev := base
	for i := range pp.Columns {
		c := &pp.Columns[i]
		if !c.Ran() {
			continue
		}
		emit(results.Event{Kind: results.EventNotice, Msg: fmt.Sprintf("perf of %s against the kernel before it", c.Label())})
		res, err := measurePerf(ctx, o, []vm.BootOptions{prev, pp.boots[i]}, expect, emit)
		c.Perf = res
		if err != nil {
			return err
		}
		prev = pp.boots[i]
	}
	return nil
}

// perPatch builds the candidate's series one prefix at a time in the one
// source tree (each prefix cached under its own key, so each build
// recompiles what its patch touches) and runs the catalogue on each. A
// patch that does not apply, build or boot is named at its column and the
// prefixes after it are not run, with the reason: a finding, not an
// error. base has the baseline's results.
func perPatch(ctx context.Context, o Options, base *results.KernelResult, emit func(results.Event)) (*perPatchRun, error) {
	series, err := kernels.LoadSeries(o.Candidate.Patches)
	if err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "--per-patch series", Err: err}
	}
	n := len(series.Patches)
	out := &perPatchRun{}
	baseWarnings := warningsIn(base.Build, nil)
	prev := base
	blocked := ""
	for k := 1; k <= n; k++ {
		p := series.Patches[k-1]
		col := results.PatchColumn{Index: k, Total: n, Name: p.Name, Subject: p.Subject}
		out.boots = append(out.boots, vm.BootOptions{})
		if blocked != "" {
			col.Status, col.Reason = results.PatchNotRun, blocked
			out.Columns = append(out.Columns, col)
			continue
		}
		emit(results.Event{Kind: results.EventNotice, Msg: fmt.Sprintf("%s %s", col.Label(), col.Title())})
		spec := o.Candidate
		spec.PatchCount = k
		side := &results.KernelResult{Role: runs.Candidate, Spec: describeSpec(spec)}
		boot, kcfg, err := bringUp(ctx, o, side, emit)
		var pe *kernels.PatchError
		var be *kernels.BuildError
		switch {
		case errors.As(err, &pe):
			col.Status, col.Reason = results.PatchNoApply, firstLine(pe.Detail)
		case errors.As(err, &be):
			col.Status, col.Reason = results.PatchNoBuild, firstLine(strings.TrimSpace(be.Errors+"\n"+be.Tail))
		case err != nil:
			// The harness failed: this patch and the ones after it are
			// not run, and what ran is kept.
			col.Status, col.Reason = results.PatchNotRun, "harness: "+firstLine(err.Error())
			out.Columns = append(out.Columns, col)
			return out.finish(o, base, "harness failure at "+col.Label(), n), err
		}
		if col.Status != "" {
			blocked = fmt.Sprintf("%s %s", col.Label(), col.Status)
			out.Columns = append(out.Columns, col)
			continue
		}
		col.Build = side.Build
		col.Warnings = newWarnings(warningsIn(side.Build, p.Files), baseWarnings)
		err = runSide(ctx, o, side, boot, 1, emit)
		col.Run, col.Summary = side.Run, side.Summary
		if err != nil {
			col.Status, col.Reason = results.PatchNotRun, "interrupted or harness failure: "+firstLine(err.Error())
			out.Columns = append(out.Columns, col)
			return out.finish(o, base, "not reached: the run stopped at "+col.Label(), n), err
		}
		if len(side.Run.Boots) == 0 && len(side.Run.Failures) > 0 {
			col.Status, col.Reason = results.PatchNoBoot, side.Run.Failures[0]
			blocked = fmt.Sprintf("%s does not boot", col.Label())
			out.Columns = append(out.Columns, col)
			continue
		}
		col.Status = results.PatchOK
		out.boots[k-1] = boot
		col.Introduced = results.Diff(prev.Run.Results, side.Run.Results)
		out.Columns = append(out.Columns, col)
		prev, out.last, out.lastBoot, out.lastConfig = side, side, boot, kcfg
	}
	return out.finish(o, base, blocked, n), nil
}

// finish fills the columns not reached with why, builds the matrix, and
// makes sure there is a candidate: the longest prefix that ran, else a
// kernel whose failure is the first patch's.
func (out *perPatchRun) finish(o Options, base *results.KernelResult, why string, n int) *perPatchRun {
	for k := len(out.Columns) + 1; k <= n; k++ {
		out.Columns = append(out.Columns, results.PatchColumn{Index: k, Total: n, Status: results.PatchNotRun, Reason: why})
		out.boots = append(out.boots, vm.BootOptions{})
	}
	out.BuildMatrix(base.Run.Results)
	if out.last == nil {
		out.last = &results.KernelResult{Role: runs.Candidate, Spec: describeSpec(o.Candidate), Run: &runs.Suite{Failures: []string{why}}}
		out.last.Summary = results.Summarize(out.last.Run, console.Headline)
	}
	return out
}

// warningRe matches a compiler warning line: FILE:LINE:COL: warning: TEXT.
var warningRe = regexp.MustCompile(`^(\S+?):\d+:\d+: warning: (.*)$`)

// warningsIn returns the compiler warnings in bld's log as "FILE: TEXT"
// (line numbers left out, so that a patch moving code does not make old
// warnings new), for the files given (paths relative to the tree; all
// when nil).
func warningsIn(bld *runs.Build, files []string) []string {
	if bld == nil || bld.Log == "" {
		return nil
	}
	data, err := os.ReadFile(bld.Log)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		m := warningRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		file := m[1]
		for strings.HasPrefix(file, "../") {
			file = file[strings.IndexByte(file, '/')+1:]
		}
		file = strings.TrimPrefix(file, "src/")
		if files != nil && !touches(files, file) {
			continue
		}
		out = append(out, file+": "+m[2])
	}
	return out
}

func touches(files []string, file string) bool {
	for _, f := range files {
		if f == file || strings.HasSuffix(file, "/"+f) {
			return true
		}
	}
	return false
}

// newWarnings returns the warnings of got that base does not have.
func newWarnings(got, base []string) []string {
	had := map[string]bool{}
	for _, w := range base {
		had[w] = true
	}
	var out []string
	for _, w := range got {
		if !had[w] {
			had[w] = true
			out = append(out, w)
		}
	}
	return out
}
