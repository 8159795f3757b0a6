package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/results"
)

func newCheck() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "check [PATCH]",
		Short: "b4's per-patch check: test one patch (stdin or PATCH) against the git tree here",
		Long: `check tests one patch, read from PATCH or standard input, against the git
kernel tree of the current directory (or --tree DIR): HEAD built stock and HEAD with the
patch, both with the run configuration's kernel config, the catalogue on
each. It prints one line per finding, "ERROR:" for what fails the patch
(it does not apply or build, the kernel crashes, hangs, warns or breaks
an invariant, a change expect.yaml does not declare when --expect is
given) and "WARNING:" for undeclared changes, or one line naming neither
when nothing was found; that is b4's contract for a per-patch check:

  git config b4.am-perpatch-check-cmd "patchtest check"
  b4 am --check MSGID

The run's folder (with patchwork.json, a Patchwork check for a bot to
post) is written as for patchtest run. Exit status 0 whatever the patch
does (the lines say it); 2 when the check could not be done.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var in io.Reader = c.InOrStdin()
			if len(args) == 1 {
				file, err := os.Open(args[0])
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				defer file.Close()
				in = file
			}
			cfg, dir, err := loadRunConfig(f.configFile, f.boot.opts.CacheDir)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := f.boot.prepareEvents(c.ErrOrStderr()); err != nil {
				return &exitError{code: 2, err: err}
			}
			o, err := pipeline.Configure(cfg, dir, f.boot.opts, f.given(c.Flags(), false))
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if !c.Flags().Changed("expect") {
				o.Expect = "" // the configuration's series' expectations are not this patch's
			}
			view := results.NewProgress(c.ErrOrStderr(), false, false)
			o.Events = view.Event
			tree := f.tree // b4 runs the check in the tree's top level
			if tree == "" {
				tree, _ = os.Getwd()
			}
			lines, _, err := pipeline.CheckPatch(c.Context(), o, tree, in)
			view.Close()
			if err != nil {
				fmt.Fprintf(c.OutOrStdout(), "ERROR: patchtest: the check could not be done (the harness failed; this says nothing about the patch): %s\n", strings.SplitN(err.Error(), "\n", 2)[0])
				return &exitError{code: 2, err: err}
			}
			for _, l := range lines {
				fmt.Fprintln(c.OutOrStdout(), l)
			}
			return nil
		},
	}
	f.register(c.Flags())
	f.registerSelection(c.Flags())
	return c
}
