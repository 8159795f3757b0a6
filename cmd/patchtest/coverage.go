package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/configs"
)

func newCoverage() *cobra.Command {
	var (
		boot      bootFlags
		o         pipeline.CoverageOptions
		fragments []string
	)
	c := &cobra.Command{
		Use:   "coverage [--source S] [--patches P] [--suite GLOB] [--out DIR]",
		Short: "What of the kernel the catalogue reaches: line, branch and function coverage, and every entry point's error returns",
		Long: `coverage builds the kernel (the source, stock or with --patches) with gcov
(configs/kernel/coverage.config: CONFIG_GCOV_KERNEL, the whole kernel
profiled), runs each selected case alone in one guest between a reset
and a read of the counters, and reports line, branch and function
coverage of the splice family's files (` + strings.Join(pipeline.CoverageFiles, " ") + `),
and for every error return and flag check in the entry points of
splice, vmsplice, tee, sendfile and copy_file_range the cases that reach
it. It writes coverage.info (lcov's tracefile: the whole and one per
case under cases/), html/ (genhtml's annotated sources) and
coverage.json into a folder of --out, using Debian's gcov and lcov.

Exit status: 0, or 1 when an entry point's error return or flag check
is reached by no case; 2 when coverage could not be measured.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := boot.prepareEvents(c.ErrOrStderr()); err != nil {
				return &exitError{code: 2, err: err}
			}
			boot.opts.Events = nil
			o.Boot, o.CacheDir = boot.opts, boot.opts.CacheDir
			o.Base, o.Fragments = configs.MustDefaults().Config.Base, fragments
			o.Progress = func(s string) { fmt.Fprintf(c.ErrOrStderr(), "patchtest: %s\n", s) }
			res, err := pipeline.Coverage(c.Context(), o)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			printCoverage(c.OutOrStdout(), res)
			fmt.Fprintf(c.ErrOrStderr(), "patchtest: coverage in %s (coverage.info, html/index.html, coverage.json)\n", res.Dir)
			if len(res.Unreached()) > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	fl := c.Flags()
	boot.register(fl)
	fl.MarkHidden("kernel")
	fl.StringVar(&o.Source, "source", "", "kernel source (default debian:6.12)")
	fl.StringVar(&o.Patches, "patches", "", "a series to apply (directory or mbox)")
	fl.StringSliceVar(&o.Patterns, "suite", nil, "cases to run (globs; all when none)")
	fl.StringSliceVar(&fragments, "fragment", nil, "extra kernel config fragment(s)")
	fl.StringVar(&o.OutDir, "out", "patchtest-results", "directory for the coverage folder")
	return c
}

// printCoverage is the terminal summary: each file's figures, then every
// entry point's checks, unreached ones first.
func printCoverage(w io.Writer, r *pipeline.CoverageResult) {
	fmt.Fprintf(w, "Kernel coverage by %d cases (%s)\n\n", len(r.Cases), r.Kernel)
	fmt.Fprintf(w, "%-22s %-22s %-22s %s\n", "file", "lines", "branches", "functions")
	for _, f := range r.Files {
		fmt.Fprintf(w, "%-22s %-22s %-22s %s\n", f.Path, f.Lines, f.Branches, f.Functions)
	}
	un := r.Unreached()
	fmt.Fprintf(w, "\nEntry points' error returns and flag checks: %d, %d that user space can reach reached by no case\n", len(r.Checks), len(un))
	for _, ch := range un {
		fmt.Fprintf(w, "  NOT REACHED %s %s:%d %s: %s\n", ch.Syscall, ch.File, ch.Line, ch.Func, ch.Text)
	}
	for _, ch := range r.Checks {
		switch {
		case ch.Unreachable != "":
			fmt.Fprintf(w, "  unreachable %s %s:%d %s: %s (%s)\n", ch.Syscall, ch.File, ch.Line, ch.Func, ch.Text, ch.Unreachable)
		case !ch.Executed:
			fmt.Fprintf(w, "  no count    %s %s:%d %s: %s (gcov counts no code on the line)\n", ch.Syscall, ch.File, ch.Line, ch.Func, ch.Text)
		}
	}
	for _, ch := range r.Checks {
		if len(ch.Cases) > 0 {
			more := ""
			if len(ch.Cases) > 3 {
				more = fmt.Sprintf(" (+%d)", len(ch.Cases)-3)
			}
			fmt.Fprintf(w, "  reached     %s %s:%d %s: %s  <- %s%s\n", ch.Syscall, ch.File, ch.Line, ch.Func, ch.Text, strings.Join(ch.Cases[:min(3, len(ch.Cases))], ", "), more)
		}
	}
	for id, why := range r.NoData {
		fmt.Fprintf(w, "  no counters from %s: %s\n", id, why)
	}
}
