package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/kconfig"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/vm"
)

// sameTree makes the candidate's own kernel tree its baseline: the tree at
// its base commit (kernels.FindBase), built with the candidate's .config in
// a clone under the cache. A tree named with --tree that cannot serve is
// bad input; a --kernel that is merely not inside a git kernel tree keeps
// the configuration's baseline, and says so.
func sameTree(ctx context.Context, o *Options, rec *results.Record, progress func(string)) error {
	tree, config, ok := "", "", false
	if o.Candidate.Path != "" {
		tree, config, ok = kernels.TreeOf(o.Candidate.Path)
	}
	if o.Tree != "" {
		abs, err := filepath.Abs(o.Tree)
		if err != nil {
			return &vm.Error{Outcome: vm.BadInput, Msg: "--tree " + o.Tree, Err: err}
		}
		if !ok {
			config = filepath.Join(abs, ".config")
		}
		tree, ok = abs, true
		if o.Candidate.Path == "" {
			o.Candidate = configs.KernelSpec{Path: filepath.Join(abs, "arch", "x86", "boot", "bzImage")}
		}
	}
	keep := fmt.Sprintf("the baseline stays %s", o.Baseline.Describe())
	if !ok {
		progress(fmt.Sprintf("--kernel %s is not inside a kernel build tree (TREE/arch/x86/boot/bzImage with TREE/.config): %s", o.Candidate.Path, keep))
		return nil
	}
	tb, err := kernels.FindBase(ctx, tree, config, o.BaseRef)
	if err != nil {
		if o.Tree != "" || o.BaseRef != "" {
			return &vm.Error{Outcome: vm.BadInput, Msg: "same-tree baseline", Err: err}
		}
		progress(fmt.Sprintf("%v: %s", err, keep))
		return nil
	}
	o.Baseline = configs.KernelSpec{Source: tb.Source(), Config: tb.Config}
	rec.TreeBase = describeTreeBase(tb)
	progress(rec.TreeBase.Line())
	return nil
}

// compareTreeConfigs records whether the baseline was built with the
// candidate's configuration, option for option after olddefconfig.
func compareTreeConfigs(tb *results.TreeBase, base, cand *kconfig.Config) {
	if tb == nil || base == nil || cand == nil {
		return
	}
	seen := map[string]bool{}
	var opts []string
	for _, c := range []*kconfig.Config{base, cand} {
		for opt := range c.Options {
			if !seen[opt] {
				seen[opt] = true
				opts = append(opts, opt)
			}
		}
	}
	sort.Strings(opts)
	tb.ConfigDiff = describeConfigDiffs(kconfig.DiffConfigs(base, cand, opts))
	tb.ConfigsMatch = len(tb.ConfigDiff) == 0
}
