package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/fault"
)

// CheckPatch is b4's per-patch check: the patch read from patch is
// tested against the git tree tree, both kernels built with o's
// configuration, and the findings come back as b4's lines
// (results.Record.B4Lines), none when nothing was found. Under b4 am
// --check (am-perpatch-check-cmd) HEAD lacks the patch: HEAD is the
// baseline and HEAD with the patch the candidate. Under b4 prep --check
// (prep-perpatch-check-cmd) HEAD already holds the series: the commit
// whose patch ID is the patch's is the candidate and its parent the
// baseline. A patch that does not apply or build is a finding
// ("ERROR:"), not an error; the error is the harness's.
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
	commit, err := committedAs(ctx, top, data)
	if err != nil {
		return nil, nil, err
	}
	if commit != "" {
		base.Source, cand.Source = "git:"+top+"@"+commit+"^", "git:"+top+"@"+commit
	} else {
		cand.Patches = p
	}
	o.Baseline, o.Candidate, o.SameTree, o.PerPatch = base, cand, false, false
	rec, err := Execute(ctx, o)
	var pe *kernels.PatchError
	var be *kernels.BuildError
	switch {
	case errors.As(err, &pe) && fault.SideOf(err) == runs.Candidate:
		return []string{"ERROR: the patch does not apply to HEAD: " + oneLine(pe.Detail)}, nil, nil
	case errors.As(err, &be) && fault.SideOf(err) == runs.Candidate:
		return []string{"ERROR: the kernel does not build with the patch: " + oneLine(be.Errors+" "+be.Tail)}, nil, nil
	case err != nil:
		return nil, rec, err
	}
	return rec.B4Lines(), rec, nil
}

// committedSearch is how far back from HEAD committedAs looks: b4 prep's
// series sit on top of their fork point.
const committedSearch = 200

// committedAs returns the commit among HEAD's last committedSearch
// non-merge commits whose stable patch ID is the patch's, or "" when
// there is none (the patch is not in the tree, has no diff, or its commit
// has no parent to be the baseline).
func committedAs(ctx context.Context, top string, patch []byte) (string, error) {
	want, err := patchIDs(ctx, top, patch)
	if err != nil || len(want) == 0 {
		return "", err
	}
	log := exec.CommandContext(ctx, "git", "-C", top, "log", "-p", "--no-color", "--no-merges", "--no-ext-diff",
		fmt.Sprintf("--max-count=%d", committedSearch), "HEAD")
	history, err := log.Output()
	if err != nil {
		return "", fmt.Errorf("check: git log in %s: %w", top, err)
	}
	ids, err := patchIDs(ctx, top, history)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		if id.patch != want[0].patch {
			continue
		}
		if _, err := gitOut(ctx, top, "rev-parse", "--verify", "--quiet", id.commit+"^"); err != nil {
			return "", nil
		}
		return id.commit, nil
	}
	return "", nil
}

// patchID is one line of git patch-id: a diff's ID and the commit it
// came from (zeros for a mail).
type patchID struct{ patch, commit string }

// patchIDs runs git patch-id --stable over diffs.
func patchIDs(ctx context.Context, top string, diffs []byte) ([]patchID, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", top, "patch-id", "--stable")
	cmd.Stdin = bytes.NewReader(diffs)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("check: git patch-id in %s: %w", top, err)
	}
	var ids []patchID
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			ids = append(ids, patchID{f[0], f[1]})
		}
	}
	return ids, nil
}
