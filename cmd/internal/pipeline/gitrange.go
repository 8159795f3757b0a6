package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/vm"
)

// fromRange turns a git range, git:PATH@A..B, into a run of the series
// A..B on A: the baseline is the repository at A, the candidate the same
// with the range's commits as patches (git format-patch into the cache,
// where the user's repository is only read).
func fromRange(ctx context.Context, o *Options) error {
	spec, ok := strings.CutPrefix(o.Range, "git:")
	at := strings.LastIndexByte(spec, '@')
	if !ok || at <= 0 || !strings.Contains(spec[at+1:], "..") {
		return &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("--range %q: want git:PATH@BASE..TIP", o.Range)}
	}
	repo, revs := spec[:at], strings.SplitN(spec[at+1:], "..", 2)
	base, err := revParse(ctx, repo, revs[0])
	if err != nil {
		return &vm.Error{Outcome: vm.BadInput, Msg: "--range " + o.Range, Err: err}
	}
	tip, err := revParse(ctx, repo, revs[1])
	if err != nil {
		return &vm.Error{Outcome: vm.BadInput, Msg: "--range " + o.Range, Err: err}
	}
	sum := sha256.Sum256([]byte(repo + "\n" + base + "\n" + tip))
	dir := filepath.Join(o.CacheDir, "ranges", hex.EncodeToString(sum[:])[:16])
	os.RemoveAll(dir)
	if out, err := gitOut(ctx, repo, "format-patch", "--quiet", "--no-signature", "-o", dir, base+".."+tip); err != nil {
		return &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("--range %s: git format-patch: %s", o.Range, out), Err: err}
	}
	if ps, _ := filepath.Glob(filepath.Join(dir, "*.patch")); len(ps) == 0 {
		return &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("--range %s: no commits between %s and %s", o.Range, short(base), short(tip))}
	}
	src := "git:" + repo + "@" + base
	o.Baseline = configs.KernelSpec{Source: src, Base: o.Candidate.Base, Fragments: o.Candidate.Fragments, TreeName: o.Candidate.TreeName}
	o.Candidate = configs.KernelSpec{Source: src, Patches: dir, Base: o.Candidate.Base, Fragments: o.Candidate.Fragments, TreeName: o.Candidate.TreeName}
	return nil
}
