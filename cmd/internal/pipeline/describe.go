package pipeline

import (
	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/artifact"
	"github.com/patchtest/patchtest/kernels/kconfig"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

// The run model's plain descriptions of what the builder and the
// configuration reader produced: the record names neither.

// describeSpec is the record's copy of where a kernel comes from.
func describeSpec(k configs.KernelSpec) runs.KernelSpec { return runs.KernelSpec(k) }

// describeBuild is the record's description of a built kernel.
func describeBuild(b *artifact.Build) *runs.Build {
	if b == nil {
		return nil
	}
	d := &runs.Build{
		Key: b.Key, Dir: b.Dir, BzImage: b.BzImage, Config: b.Config, SystemMap: b.SystemMap, Log: b.Log,
		Source: b.Source, SourceSpec: b.SourceSpec, Series: b.Series, Base: b.Base, Fragments: b.Fragments,
		Compiler: b.Compiler, Built: b.Built, Duration: b.Duration, Cached: b.Cached,
	}
	if b.Git != nil {
		g := runs.GitIdentity(*b.Git)
		d.Git = &g
	}
	for _, p := range b.Patches {
		d.Patches = append(d.Patches, runs.Patch(p))
	}
	if b.CompilerCache != nil {
		c := runs.CompilerCache(*b.CompilerCache)
		d.CompilerCache = &c
	}
	return d
}

// describeCapabilities is the record's copy of what a kernel can report.
func describeCapabilities(c kconfig.Capabilities) *runs.Capabilities {
	d := &runs.Capabilities{Config: c.Config}
	for _, l := range c.Limits {
		d.Limits = append(d.Limits, runs.Limit(l))
	}
	return d
}

// describeConfigDiffs are the record's copies of configuration
// differences.
func describeConfigDiffs(ds []kconfig.ConfigDiff) []runs.ConfigDiff {
	var out []runs.ConfigDiff
	for _, d := range ds {
		out = append(out, runs.ConfigDiff(d))
	}
	return out
}

// describeTreeBase is the record of a same-tree baseline.
func describeTreeBase(t *kernels.TreeBase) *results.TreeBase {
	return &results.TreeBase{Tree: t.Tree, Head: t.Head, Dirty: t.Dirty, Base: t.Base, How: t.How, Config: t.Config}
}

// compareKernels says how the two kernels differ beyond the patch, given
// their configurations (nil when not found); nil when they are alike as
// far as can be told.
func compareKernels(base, cand *results.KernelResult, baseConfig, candConfig *kconfig.Config) *results.Mismatch {
	m := &results.Mismatch{}
	if base.Run != nil && cand.Run != nil && base.Run.Release != "" && cand.Run.Release != "" && base.Run.Release != cand.Run.Release {
		m.Release = base.Run.Release + " vs " + cand.Run.Release
	}
	switch {
	case baseConfig != nil && candConfig != nil:
		opts := append(suites.Catalogue().ConfigOptions(), kconfig.DetectorOptions()...)
		m.Config = describeConfigDiffs(kconfig.DiffConfigs(baseConfig, candConfig, opts))
	default:
		for _, k := range []struct {
			r   *results.KernelResult
			cfg *kconfig.Config
		}{{base, baseConfig}, {cand, candConfig}} {
			if k.cfg == nil && k.r.Capabilities != nil {
				m.Unknown = append(m.Unknown, k.r.Role)
			}
		}
	}
	if m.Release == "" && len(m.Config) == 0 && len(m.Unknown) == 0 {
		return nil
	}
	return m
}
