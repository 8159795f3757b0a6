package pipeline

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/perf"
)

// FromConfig turns a run configuration into Options. Relative paths in it
// (patches, expect, out) are taken relative to dir. When no expect file is
// named, the candidate series' own expect.yaml is used if it has one.
func FromConfig(cfg *configs.Run, dir string) Options {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, ":") {
			return p
		}
		return filepath.Join(dir, p)
	}
	spec := func(k configs.KernelSpec) results.KernelSpec {
		if k.Path != "" {
			if !strings.Contains(k.Path, ":") {
				k.Path = abs(k.Path)
			}
			return k
		}
		return results.KernelSpec{Source: k.Source, Patches: abs(k.Patches), Base: cfg.Config.Base, Fragments: cfg.Config.Fragments}
	}
	o := Options{
		Baseline:  spec(cfg.Kernels.Baseline),
		Candidate: spec(cfg.Kernels.Candidate),
		Patterns:  cfg.Suites,
		Expect:    abs(cfg.Expect),
		OutDir:    cfg.Out,
		Jobs:      cfg.QEMU.Jobs,
	}
	if l, err := perf.ParseLevel(cfg.Perf.Level); err == nil {
		o.Perf = l
		if cfg.Perf.Rounds > 0 {
			o.Perf.Rounds = cfg.Perf.Rounds
		}
		if cfg.Perf.SampleTime > 0 {
			o.Perf.Duration = cfg.Perf.SampleTime
		}
	}
	o.Benchmarks = cfg.Perf.Benchmarks
	o.PerfStats = results.PerfStats{Alpha: cfg.Perf.Alpha, Threshold: cfg.Perf.ThresholdPct}
	o.PerfFailPct = cfg.Perf.FailPct
	o.RequireKVM = cfg.Perf.RequireKVM
	o.DefaultExpect()
	return o
}

// DefaultExpect sets Expect to the candidate series' expect.yaml when none
// is set and the series has one.
func (o *Options) DefaultExpect() {
	if o.Expect != "" || o.Candidate.Patches == "" {
		return
	}
	if p := filepath.Join(o.Candidate.Patches, "expect.yaml"); fileExists(p) {
		o.Expect = p
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
