package kernels

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// TreeBase is a user's kernel tree taken as its own baseline: the tree, the
// commit its kernel was built from, and the commit to build the baseline
// from, with the configuration the tree's kernel was built with.
type TreeBase struct {
	// Tree is the source tree (a git work tree).
	Tree string `json:"tree"`
	// Head is the commit checked out in Tree; Dirty is set when the tree
	// had uncommitted changes (they are part of the candidate).
	Head  string `json:"head"`
	Dirty bool   `json:"dirty,omitempty"`
	// Base is the baseline's commit, and How says how it was chosen.
	Base string `json:"base"`
	How  string `json:"how"`
	// Config is the .config the candidate was built with; the baseline
	// is built with it too (olddefconfig).
	Config string `json:"config"`
}

// Source is the baseline's --source: the tree at Base.
func (t *TreeBase) Source() string { return "git:" + t.Tree + "@" + t.Base }

// TreeOf returns the kernel source tree a bzImage was built in: image is
// TREE/arch/x86/boot/bzImage (in the tree itself, or in an O= directory
// whose source link names the tree). ok is false when image is not in a
// build tree, or the tree has no .config.
func TreeOf(image string) (tree, config string, ok bool) {
	abs, err := filepath.Abs(image)
	if err != nil {
		return "", "", false
	}
	out, found := strings.CutSuffix(filepath.Clean(abs), filepath.Join("", "arch", "x86", "boot", "bzImage"))
	if !found {
		return "", "", false
	}
	out = filepath.Clean(out)
	config = filepath.Join(out, ".config")
	if _, err := os.Stat(config); err != nil {
		return "", "", false
	}
	tree = out
	// An O= directory has a "source" link to the tree.
	if src, err := filepath.EvalSymlinks(filepath.Join(out, "source")); err == nil {
		tree = src
	}
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err != nil {
		return "", "", false
	}
	return tree, config, true
}

// FindBase decides the baseline commit of the git tree tree, whose kernel
// was built with config: ref when given; else, when HEAD has an upstream,
// their merge base; else, with uncommitted changes, HEAD (the changes are
// the patch); else HEAD's parent (the last commit is the patch). The
// tree is only read.
func FindBase(ctx context.Context, tree, config, ref string) (*TreeBase, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", tree}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
				return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := git("rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("%s is not a git repository: give --baseline, or make it one", tree)
	}
	t := &TreeBase{Tree: tree, Config: config}
	var err error
	if t.Head, err = git("rev-parse", "--verify", "HEAD^{commit}"); err != nil {
		return nil, fmt.Errorf("%s: no commit checked out: %w", tree, err)
	}
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	t.Dirty = status != ""
	switch {
	case ref != "":
		if t.Base, err = git("rev-parse", "--verify", ref+"^{commit}"); err != nil {
			return nil, fmt.Errorf("--base-ref %s: no such commit in %s", ref, tree)
		}
		t.How = "--base-ref " + ref
	default:
		if up, uerr := git("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"); uerr == nil && up != "" {
			if t.Base, err = git("merge-base", "HEAD", "@{upstream}"); err != nil {
				return nil, err
			}
			t.How = "the merge base of HEAD and its upstream " + up
			if t.Base == t.Head && !t.Dirty {
				return nil, fmt.Errorf("%s: HEAD is its upstream %s, so there is no change to test: give --base-ref REF", tree, up)
			}
			break
		}
		if t.Dirty {
			t.Base, t.How = t.Head, "HEAD, without the uncommitted changes (HEAD has no upstream)"
			break
		}
		if t.Base, err = git("rev-parse", "--verify", "HEAD^1^{commit}"); err != nil {
			return nil, fmt.Errorf("%s: HEAD has no upstream and no parent: give --base-ref REF", tree)
		}
		t.How = "HEAD's parent: HEAD has no upstream and the tree no uncommitted changes, so the last commit is the patch"
	}
	return t, nil
}
