package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// CheckPatch is b4's per-patch check (am-perpatch-check-cmd): the patch
// read from patch is tested against the git tree tree at HEAD, both
// built with o's configuration, and the findings come back as b4's lines
// (results.Record.B4Lines). A patch that does not apply or build is a
// finding ("ERROR:"), not an error; the error is the harness's.
func CheckPatch(ctx context.Context, o Options, tree string, patch io.Reader) ([]string, *results.Record, error) {
	top, err := gitOut(ctx, tree, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, nil, &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("check: %s is not in a git tree: run it in the kernel tree b4 applies to", tree)}
	}
	dir, err := os.MkdirTemp("", "patchtest-check-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "0001-checked.patch")
	data, err := io.ReadAll(patch)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return nil, nil, err
	}
	base := o.Baseline
	base.Path, base.Source, base.Patches = "", "git:"+top, ""
	cand := base
	cand.Patches = p
	o.Baseline, o.Candidate, o.SameTree, o.PerPatch = base, cand, false, false
	rec, err := Execute(ctx, o)
	var pe *kernels.PatchError
	var be *kernels.BuildError
	switch {
	case errors.As(err, &pe) && strings.HasPrefix(err.Error(), runs.Candidate):
		return []string{"ERROR: patchtest: the patch does not apply to HEAD: " + oneLine(pe.Detail)}, nil, nil
	case errors.As(err, &be) && strings.HasPrefix(err.Error(), runs.Candidate):
		return []string{"ERROR: patchtest: the kernel does not build with the patch: " + oneLine(be.Errors+" "+be.Tail)}, nil, nil
	case err != nil:
		return nil, rec, err
	}
	return rec.B4Lines(), rec, nil
}
