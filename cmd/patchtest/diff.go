package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/results"
)

func newDiff() *cobra.Command {
	var side string
	c := &cobra.Command{
		Use:   "diff RUN_A RUN_B",
		Short: "Compare one kernel of two runs (the candidates by default: e.g. v1 and v2 of a series)",
		Long: `diff compares the same side of two runs: the observations that changed,
problems (crashes, broken invariants, kernel warnings) that are new or
gone, and, when both runs measured perf, each benchmark's samples of the
first run against the second's with the usual statistics. Exit status 1
when anything changed, 0 when nothing did, 2 when a run cannot be read.`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			var recs [2]*results.Record
			for i, p := range args {
				rec, err := results.LoadRecord(p)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				recs[i] = rec
			}
			d, err := results.DiffRuns(recs[0], recs[1], side, results.PerfStats{})
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprint(c.OutOrStdout(), d.Text())
			if d.Changed() {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	c.Flags().StringVar(&side, "side", "candidate", "which kernel of each run to compare: candidate or baseline")
	return c
}
