package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/results"
)

func newCheck() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "check [PATCH]",
		Short: "b4's per-patch check: test one patch (stdin or PATCH) against the git tree here",
		Long: `check tests one patch, read from PATCH or standard input, against the git
kernel tree of the current directory (or --tree DIR), both kernels built
with the run configuration's kernel config, the catalogue on each. When
HEAD lacks the patch (b4 am --check) HEAD is the baseline and HEAD with
the patch the candidate; when a commit of HEAD's history is the patch
(b4 prep --check, whose series is committed) that commit is the
candidate and its parent the baseline.

It prints one line on standard output per finding, with "ERROR:" for
what fails the patch (it does not apply or build, the kernel crashes,
hangs, warns or breaks an invariant, a change expect.yaml does not
declare when --expect is given) and "WARNING:" for undeclared changes,
and nothing when nothing was found. That is b4's contract: b4 classes
each line on stdout as a warning unless it contains "ERROR:", each line
on stderr as a failure, and passes a check that prints nothing. So check
writes its progress to stderr only when stderr is a terminal or with
--verbose, and a check that could not be done (a harness or host
problem, which says nothing about the patch) is one warning line and
exit 2.

  git config b4.am-perpatch-check-cmd "patchtest check"     # b4 am --check MSGID
  git config b4.prep-perpatch-check-cmd "patchtest check"   # b4 prep --check

The run's folder (with patchwork.json, a Patchwork check for a bot to
post) is written as for patchtest run. Exit status 0 whatever the patch
does (the lines say it); 2 when the check could not be done.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var in io.Reader = c.InOrStdin()
			if len(args) == 1 {
				file, err := os.Open(args[0])
				if err != nil {
					return &exitError{code: 2, err: err} // a person's command line: said on stderr
				}
				defer file.Close()
				in = file
			}
			// b4 reads any line on stderr as the patch failing: progress
			// goes there only for a person watching.
			stderr, shown := c.ErrOrStderr(), f.boot.verbose
			if file, ok := stderr.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
				shown = true
			}
			if !shown {
				stderr = io.Discard
			}
			failed := func(err error) error {
				fmt.Fprintf(c.OutOrStdout(), "patchtest: the check could not be done (a harness or host problem; this says nothing about the patch): %s\n", strings.SplitN(err.Error(), "\n", 2)[0])
				if !shown {
					return &exitError{code: 2}
				}
				return &exitError{code: 2, err: err}
			}
			cfg, dir, err := loadRunConfig(f.configFile, f.boot.opts.CacheDir)
			if err != nil {
				return failed(err)
			}
			if err := f.boot.prepareEvents(stderr); err != nil {
				return failed(err)
			}
			o, err := pipeline.Configure(cfg, dir, f.boot.opts, f.given(c.Flags(), false))
			if err != nil {
				return failed(err)
			}
			if !c.Flags().Changed("expect") {
				o.Expect = "" // the configuration's series' expectations are not this patch's
			}
			view := results.NewProgress(stderr, false, false)
			o.Events = view.Event
			tree := f.tree // b4 runs the check in the tree's top level
			if tree == "" {
				tree, _ = os.Getwd()
			}
			lines, _, err := pipeline.CheckPatch(c.Context(), o, tree, in)
			view.Close()
			if err != nil {
				return failed(err)
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
