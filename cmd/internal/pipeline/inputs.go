package pipeline

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/kconfig"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/fault"
)

// checkInputs checks everything a run is given before anything is built
// or booted: the expectations, the selections, the kernels and series
// named. It returns the loaded expectations.
func checkInputs(o Options) (*results.Expect, error) {
	var expect *results.Expect
	if o.Expect != "" {
		var err error
		if expect, err = results.LoadExpect(o.Expect); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "expectations", Err: err}
		}
		if err := expect.CheckCatalogue(suites.Catalogue()); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "expectations " + o.Expect, Err: err}
		}
	}
	if !o.SkipSuites {
		if _, err := suites.Catalogue().Select(o.Patterns...); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "case selection", Err: err}
		}
	}
	if o.Perf.Name != "" {
		if _, err := perf.Select(o.Perf, o.Benchmarks...); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "benchmark selection", Err: err}
		}
	}
	for _, k := range []struct {
		role string
		spec configs.KernelSpec
	}{{runs.Baseline, o.Baseline}, {runs.Candidate, o.Candidate}} {
		if p := k.spec.Path; p != "" && !strings.HasPrefix(p, "debian:") {
			if _, err := vm.InspectKernel(p); err != nil {
				return nil, fault.OnSide(k.role, err)
			}
		}
		if p := k.spec.Patches; p != "" {
			if _, err := os.Stat(p); err != nil {
				return nil, &vm.Error{Outcome: vm.MissingFile, Msg: fmt.Sprintf("%s series %s: give a directory of .patch files or an mbox", k.role, p), Err: err}
			}
		}
	}
	return expect, nil
}

// assess reads side's kernel configuration and says what the kernel can
// report; the error says it cannot host the agent at all.
func assess(side *results.KernelResult, modules bool) (*kconfig.Config, error) {
	buildConfig := ""
	if side.Build != nil {
		buildConfig = side.Build.Config
	}
	cfg, err := kconfig.ConfigFor(side.BzImage, buildConfig)
	if err != nil {
		return nil, err
	}
	caps, err := kconfig.Assess(cfg, modules, side.BzImage)
	side.Capabilities = describeCapabilities(caps)
	return cfg, err
}

// resolve finds or builds side's kernel and returns the modules tree a
// given kernel comes with (a debian: package's), if any.
func resolve(ctx context.Context, b *kernels.Builder, side *results.KernelResult, cacheDir string) (modules string, err error) {
	if side.Spec.Path != "" {
		k, err := kernels.Resolve(ctx, side.Spec.Path, cacheDir)
		if err != nil {
			return "", err
		}
		side.BzImage = k.Kernel
		return k.Modules, nil
	}
	bld, err := b.Build(ctx, buildRequest(side.Spec))
	if err != nil {
		return "", err
	}
	side.Build, side.BzImage = describeBuild(bld), bld.BzImage
	return "", nil
}

// buildRequest is what the builder is asked for a built kernel.
func buildRequest(k runs.KernelSpec) kernels.Request {
	return kernels.Request{Source: k.Source, Patches: k.Patches, Base: k.Base, Fragments: k.Fragments, Config: k.Config, PatchCount: k.PatchCount}
}
