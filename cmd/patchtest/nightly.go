package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/vm"
)

func newNightly() *cobra.Command {
	var (
		f         runFlags
		reference string
		runs      int
	)
	c := &cobra.Command{
		Use:   "nightly --source git:PATH[@BRANCH] [--reference K] [--perf L]",
		Short: "One night of a moving tree: build its head, run the catalogue, say what is new since last night",
		Long: `nightly follows a git tree night after night. It updates it (git fetch when
the branch has an upstream), builds the branch's head with the run's
configuration, runs the catalogue (and with --perf the benchmarks, under
the instruction clock) against --reference when given, else against last
night's kernel of the same tree, branch and configuration, re-runs every
case that changed since last night (--runs 3: a case whose runs disagree
is flaky, reported apart and remembered), and prints the morning report:
what is new since last night with its commit window (last good..first
bad), what is still present (first seen when, in which window), what
was fixed, what is flaky. Everything goes to the results index under
--out; patchtest results history CASE shows a case's nights.

Exit status: 1 when something is new since last night (also when the
re-runs meant to confirm it could not run: the first run's outcomes are
the kernel's, and the report marks them not confirmed); 2 when the night
could not be run, or when nothing is new but the re-runs could not run;
0 otherwise. A re-run that could not run never makes a case flaky: only
runs that each produced an outcome and disagree do, or a change with no
commit in the case's area since last night.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			repo, ok := strings.CutPrefix(f.source, "git:")
			if !ok || repo == "" {
				return &exitError{code: 2, err: &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("--source %q: nightly follows a git tree, git:PATH[@BRANCH]", f.source)}}
			}
			branch := ""
			if i := strings.LastIndexByte(repo, '@'); i > 0 {
				repo, branch = repo[:i], repo[i+1:]
			}
			cfg, dir, err := loadRunConfig(f.configFile, f.boot.opts.CacheDir)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := f.boot.prepareEvents(c.ErrOrStderr()); err != nil {
				return &exitError{code: 2, err: err}
			}
			g := f.given(c.Flags(), false)
			g.Source = nil
			o, err := pipeline.Configure(cfg, dir, f.boot.opts, g)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			view := results.NewProgress(c.ErrOrStderr(), false, false)
			o.Events = view.Event
			no := pipeline.NightlyOptions{Repo: repo, Branch: branch, Runs: runs, Run: o}
			switch {
			case reference == "":
			case strings.HasPrefix(reference, "git:") || strings.HasPrefix(reference, "debian:6.12") && !strings.Contains(reference, "-"):
				no.Reference = configs.KernelSpec{Source: reference, Base: o.Candidate.Base, Fragments: o.Candidate.Fragments}
			default:
				no.Reference = configs.KernelSpec{Path: reference}
			}
			rec, err := pipeline.Nightly(c.Context(), no)
			view.Close()
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprint(c.OutOrStdout(), rec.Markdown())
			if rec.Dir != "" {
				fmt.Fprintf(c.ErrOrStderr(), "patchtest: results in %s\n", rec.Dir)
			}
			if rec.Failed() {
				return &exitError{code: 1}
			}
			if n := rec.Night; n != nil && n.Morning.Unconfirmed() {
				// Nothing new, but the re-runs meant to confirm tonight's
				// changes (a fix, say) could not run: not measured.
				return &exitError{code: 2, err: fmt.Errorf("nightly: the re-runs could not run: %s", n.Morning.NotConfirmed)}
			}
			return nil
		},
	}
	f.register(c.Flags())
	f.registerSelection(c.Flags())
	c.Flags().StringVar(&reference, "reference", "", "a pinned reference kernel: a bzImage, or a source such as git:PATH@v6.12 built with the run's configuration")
	c.Flags().IntVar(&runs, "runs", 3, "runs of a case that changed since last night before it is called")
	return c
}
