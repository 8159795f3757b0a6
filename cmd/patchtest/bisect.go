package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
)

func newBisect() *cobra.Command {
	var (
		boot      bootFlags
		source    string
		o         pipeline.BisectOptions
		fragments []string
	)
	c := &cobra.Command{
		Use:   "bisect --source git:PATH --good REV --bad REV (--case ID | --bench ID)",
		Short: "Find the commit that changed an observation or a benchmark, with git bisect run",
		Long: `bisect finds the first commit between --good and --bad whose kernel shows
--case ID with another outcome than the good end's, or whose benchmark
--bench ID regresses against the good end's kernel (under the instruction
clock, failing at 2 % as patchtest perf does).

It clones the repository under the cache (yours is only read) and runs
git bisect run there, with patchtest bisect step as the command: exit 0
good, 1 bad, 125 skip for a commit that does not build or boot or a
harness fault (never 124 or 137, which git would take for bad or abort).
Every commit's kernel is built in one source tree under the cache, so
each build recompiles what changed since the last. A commit that looks
bad is run --runs times (3) and called bad only when all agree; a mix is
skipped as flaky. It prints the first bad commit, the observation on
both sides and the builds it needed.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			repo, ok := strings.CutPrefix(source, "git:")
			if !ok || repo == "" {
				return &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("--source %q: bisect needs a git repository, git:PATH", source)}
			}
			if err := setup.Ensure(c.Context(), setup.Real.Check(c.Context(), setup.BootWith(boot.opts.QEMU), nil, nil), boot.noInstall, c.ErrOrStderr()); err != nil {
				return &vm.Error{Outcome: vm.QEMUMissing, Msg: "host set-up", Err: err}
			}
			if err := boot.prepareEvents(c.ErrOrStderr()); err != nil {
				return err
			}
			if err := boot.guest(c.Context()); err != nil {
				return err
			}
			boot.opts.Events = nil
			o.Repo, o.Boot, o.CacheDir = repo, boot.opts, boot.opts.CacheDir
			o.Base, o.Fragments = configs.MustDefaults().Config.Base, fragments
			o.Progress = func(s string) { fmt.Fprintf(c.ErrOrStderr(), "patchtest: %s\n", s) }
			res, err := pipeline.Bisect(c.Context(), o)
			if res != nil {
				w := c.OutOrStdout()
				for _, s := range res.Steps {
					fmt.Fprintf(w, "  %s %-4s %s %s%s\n", s.Commit[:12], s.Verdict, s.Subject, s.Value, parens(s.Reason))
				}
			}
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "first bad commit: %s %s\n", res.FirstBad[:12], res.Subject)
			what := o.Case
			if what == "" {
				what = o.Bench
			}
			fmt.Fprintf(w, "%s: %s before it, %s from it on\n", what, res.GoodValue, res.BadValue)
			fmt.Fprintf(w, "builds needed: %d\n", res.Builds())
			return nil
		},
	}
	fl := c.Flags()
	boot.register(fl)
	fl.MarkHidden("kernel")
	fl.StringVar(&source, "source", "", "the git repository: git:PATH")
	fl.StringVar(&o.Good, "good", "", "a commit without the change")
	fl.StringVar(&o.Bad, "bad", "", "a commit with it")
	fl.StringVar(&o.Case, "case", "", "a catalogue case ID (patchtest list shows them)")
	fl.StringVar(&o.Bench, "bench", "", "a benchmark ID (patchtest perf list shows them)")
	fl.IntVar(&o.Runs, "runs", 3, "runs of a commit that looks bad before it is called bad")
	fl.StringSliceVar(&fragments, "fragment", nil, "extra kernel config fragment(s), as for patchtest kernel build")
	c.MarkFlagRequired("source")
	c.MarkFlagRequired("good")
	c.MarkFlagRequired("bad")
	c.AddCommand(newBisectStep())
	return c
}

// newBisectStep is the command git bisect run calls: it tests HEAD of
// the working directory and exits 0, 1 or 125.
func newBisectStep() *cobra.Command {
	var state string
	c := &cobra.Command{
		Use:    "step --state FILE",
		Short:  "Test one commit for git bisect run (exit 0 good, 1 bad, 125 skip)",
		Hidden: true,
		Args:   cobra.NoArgs,
		Run: func(c *cobra.Command, args []string) {
			os.Exit(pipeline.BisectStepMain(c.Context(), state))
		},
	}
	c.Flags().StringVar(&state, "state", "", "the bisection's state file")
	return c
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
