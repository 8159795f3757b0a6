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
		Short: "Compare the observations of two runs (their candidates by default: e.g. v1 and v2 of a series)",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			var sides [2]*results.KernelResult
			for i, p := range args {
				rec, err := results.LoadRecord(p)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				if sides[i], err = rec.Side(side); err != nil {
					return &exitError{code: 2, err: err}
				}
				if sides[i].Run == nil {
					return &exitError{code: 2, err: fmt.Errorf("%s: the %s kernel has no results", p, side)}
				}
			}
			changes := results.Diff(sides[0].Run.Results, sides[1].Run.Results)
			out := c.OutOrStdout()
			fmt.Fprintf(out, "%s kernels: %s -> %s: %d of %d cases changed\n", side, args[0], args[1], len(changes), len(sides[1].Run.Results))
			for _, ch := range changes {
				fmt.Fprintf(out, "  %s\n      %s -> %s\n", ch.ID, ch.From, ch.To)
			}
			if len(changes) > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	c.Flags().StringVar(&side, "side", "candidate", "which kernel of each run to compare: candidate or baseline")
	return c
}
