package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
)

// defaultSeries is the series patchtest runs when given no kernel at all.
const defaultSeries = "kernels/patches/vmsplice-wrapper"

func newRun() *cobra.Command {
	var (
		f        bootFlags
		o        results.Options
		baseline string
		patches  string
		source   string
		asJSON   bool
	)
	c := &cobra.Command{
		Use:   "run [--kernel K | --patches P] [--baseline B] [--suite GLOB] [--expect F] [--out DIR]",
		Short: "Run the suites on a baseline and a candidate kernel and report what changed",
		Long: `run builds or finds two kernels, runs the correctness catalogue on each
under QEMU, and reports the observations that changed, sorted into those
the series declares in its expect.yaml and unexpected ones.

With no arguments it runs the built-in default: Debian's 6.12 source,
stock, against the same with the project's vmsplice-wrapper series
(` + defaultSeries + `), both built and cached.

  --kernel K    the candidate: a bzImage or debian:FLAVOUR
  --patches P   the candidate: --source with this series (directory or mbox)
  --baseline B  the baseline: a bzImage (default: --source built stock)

Exit status: 0 when only expected changes appear; 1 when a change is
unexpected, an expectation is not met, or the candidate breaks an
invariant, crashes or warns; 2 when the run could not be done (a harness
or host problem, not the kernel's).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			stderr := c.ErrOrStderr()
			candidate := f.opts.Kernel
			if err := f.prepareEvents(stderr); err != nil {
				return &exitError{code: 2, err: err}
			}
			if candidate != "" && patches != "" {
				return &exitError{code: 2, err: errors.New("--kernel and --patches both name the candidate; give one")}
			}
			if candidate == "" && patches == "" {
				src, err := build.FindSource()
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				patches = filepath.Join(src, defaultSeries)
			}
			o.Candidate = results.KernelSpec{Path: candidate, Source: source, Patches: patches}
			o.Baseline = results.KernelSpec{Path: baseline, Source: source}
			if o.Expect == "" && patches != "" {
				if p := filepath.Join(patches, "expect.yaml"); fileExists(p) {
					o.Expect = p
				}
			}
			o.Boot = f.opts
			o.Boot.Kernel = ""
			o.CacheDir = f.opts.CacheDir
			o.Progress = func(s string) { fmt.Fprintf(stderr, "patchtest: %s\n", s) }
			rec, err := results.Execute(c.Context(), o)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rec); err != nil {
					return err
				}
			} else {
				fmt.Fprint(out, rec.Markdown())
			}
			if rec.Dir != "" {
				fmt.Fprintf(stderr, "patchtest: results in %s\n", rec.Dir)
			}
			if rec.Failed() {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	fl := c.Flags()
	f.register(fl)
	fl.StringVar(&baseline, "baseline", "", "baseline bzImage or debian:FLAVOUR (default: --source built stock)")
	fl.StringVar(&patches, "patches", "", "build the candidate from --source with this series")
	fl.StringVar(&source, "source", kernels.DefaultSource, "kernel source for built kernels")
	fl.StringSliceVar(&o.Patterns, "suite", nil, "glob(s) selecting cases")
	fl.StringVar(&o.Expect, "expect", "", "expect.yaml (default: the series' own, if it has one)")
	fl.StringVar(&o.OutDir, "out", "patchtest-results", "directory for the run's folder (run.json, report.md)")
	fl.BoolVar(&asJSON, "json", false, "print the run record as JSON instead of the report")
	return c
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
