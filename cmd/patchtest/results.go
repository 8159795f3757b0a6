package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
)

func newResults() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "results",
		Short: "The index of stored runs: list them, follow a benchmark's history, rebuild the index",
	}
	c.PersistentFlags().StringVar(&dir, "out", "patchtest-results", "results directory")
	// withIndex runs f on the open index; any failure is exit status 2.
	withIndex := func(f func(x *results.Index) error) error {
		x, err := results.OpenIndex(dir)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		defer x.Close()
		if err := f(x); err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			return &exitError{code: 2, err: err}
		}
		return nil
	}

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withIndex(func(x *results.Index) error { return listRuns(c, x, limit) })
		},
	}
	list.Flags().IntVarP(&limit, "number", "n", 0, "show at most this many runs")

	history := &cobra.Command{
		Use:   "history BENCHMARK [METRIC] | CASE",
		Short: "A benchmark metric's change across runs (METRIC defaults to B/s), or a case's outcome night by night",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			metric := "B/s"
			if len(args) == 2 {
				metric = args[1]
			}
			return withIndex(func(x *results.Index) error { return history(c, x, dir, args[0], metric) })
		},
	}

	reindex := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the index from the run.json files",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withIndex(func(x *results.Index) error {
				n, skipped, err := x.Reindex(c.Context())
				for _, s := range skipped {
					fmt.Fprintf(c.ErrOrStderr(), "patchtest: skipped %s\n", s)
				}
				if err == nil {
					fmt.Fprintf(c.OutOrStdout(), "%d runs indexed in %s\n", n, dir)
				}
				return err
			})
		},
	}
	var format string
	show := &cobra.Command{
		Use:   "show RUN",
		Short: "Render a stored run again in one of its formats: " + results.FormatNames(),
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			p := args[0]
			if _, err := os.Stat(p); err != nil {
				p = filepath.Join(dir, args[0])
			}
			rec, err := results.LoadRecord(p)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			b, err := rec.Render(format)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			_, err = c.OutOrStdout().Write(b)
			return err
		},
	}
	show.Flags().StringVarP(&format, "format", "f", "md", "the format: "+results.FormatNames())
	merge := &cobra.Command{
		Use:   "merge SHARD_RUN_DIR...",
		Short: "Join the runs of a run's shards (--shard I/N) into one run under --out, with every report",
		Long: `merge joins the run folders of one run's shards into one run, written
under --out with every report and indexed there. The shards must share
their shard count, catalogue, kernels and selection, each index at most
once; the cases of a missing shard are not run (MISS in KCIDB), and the
merged run is then marked incomplete. Exit status as for patchtest run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rec, err := pipeline.Merge(c.Context(), args, dir)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprint(c.OutOrStdout(), rec.Markdown())
			fmt.Fprintf(c.ErrOrStderr(), "patchtest: merged %d shard run(s) into %s\n", len(args), rec.Dir)
			if rec.Failed() {
				return &exitError{code: 1}
			}
			if rec.Incomplete {
				// Nothing found, but not everything was run: not measured.
				return &exitError{code: 2, err: fmt.Errorf("merge: the merged run is incomplete (a shard is missing or was cut short; its cases say which): nothing found in what ran")}
			}
			return nil
		},
	}
	c.AddCommand(list, history, reindex, show, merge)
	return c
}

func listRuns(c *cobra.Command, x *results.Index, limit int) error {
	runs, err := x.List(c.Context(), limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tVERDICT\tCASES\tCHANGES\tUNEXPECTED\tPROBLEMS\tPERF\tACCEL\tCANDIDATE")
	for _, r := range runs {
		verdict := "ok"
		if r.Failed {
			verdict = "FAILED"
		}
		perf := "-"
		if r.PerfLevel != "" {
			perf = fmt.Sprintf("%s: %d sig, %d reg", r.PerfLevel, r.PerfSignificant, r.PerfRegressions)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", r.ID, verdict, r.Cases, r.Changes, r.Unexpected, r.Problems, perf, r.Accel, r.Candidate)
	}
	return tw.Flush()
}

func history(c *cobra.Command, x *results.Index, dir, bench, metric string) error {
	if cs, err := suites.Catalogue().Select(bench); err == nil && len(cs) == 1 && cs[0].ID == bench {
		return caseHistory(c, x, dir, bench)
	}
	pts, err := x.History(c.Context(), bench, metric)
	if err != nil {
		return err
	}
	if len(pts) == 0 {
		return fmt.Errorf("no run in %s measured %s %s (patchtest perf list shows the benchmarks)", dir, bench, metric)
	}
	tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tBASE\tNEW\tCHANGE\tP\tVERDICT\tCANDIDATE")
	for _, p := range pts {
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%+.1f%%\t%.3f\t%s\t%s\n", p.RunID, p.BaseMedian, p.NewMedian, p.ChangePct, p.P, p.Verdict, p.Candidate)
	}
	return tw.Flush()
}

// caseHistory prints a case's outcome on every nightly run.
func caseHistory(c *cobra.Command, x *results.Index, dir, id string) error {
	pts, err := x.CaseHistory(c.Context(), id)
	if err != nil {
		return err
	}
	if len(pts) == 0 {
		return fmt.Errorf("no nightly run in %s ran %s (patchtest nightly records them)", dir, id)
	}
	tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tTREE\tBRANCH\tCOMMIT\tOUTCOME")
	for _, p := range pts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.RunID, p.Tree, p.Branch, p.Commit[:min(12, len(p.Commit))], p.Outcome)
	}
	return tw.Flush()
}
