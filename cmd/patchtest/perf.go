package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/suites/perf"
)

func newPerf() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "perf --kernel K [--baseline B | --null] [--level L] [--bench GLOB]",
		Short: "Compare two kernels' throughput and CPU cost, or check the host with --null",
		Long: `perf boots the baseline and the candidate kernel side by side (one vCPU
each) and samples every benchmark alternately on A and B, so that host
drift hits both alike; warm-up rounds are discarded. For each metric it
reports the median of each kernel, the change in %, the Mann-Whitney U
p-value (~ when not significant at alpha 0.05 or smaller than the 1 %
threshold), and the stddev in % of the mean, which shows a noisy host.
No verdict is drawn from fewer than 6 samples per side.

Levels: quick (6 rounds of 100 ms, one size per benchmark), standard
(10 rounds of 250 ms, more sizes), thorough (20 rounds of 500 ms, all).

--null runs the candidate kernel as both A and B: nearly every metric
must come out ~, which is how to check that a host measures well.

Under TCG absolute numbers are emulation numbers; only ratios between
kernels under identical conditions mean anything. --require-kvm refuses
to measure without KVM.

The run's folder holds run.json with every sample, report.md, junit.xml,
and perf-baseline.txt / perf-candidate.txt in Go benchmark format:
  benchstat perf-baseline.txt perf-candidate.txt

Exit status as for patchtest run.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return execute(c, &f, true) },
	}
	fl := c.Flags()
	f.register(fl)
	fl.StringVar(&f.perfLevel, "level", "", "quick, standard or thorough (default: the configuration's perf level, else quick)")
	fl.BoolVar(&f.null, "null", false, "run the candidate as both A and B (host self-check)")
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the benchmarks and the level that first runs each",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BENCHMARK\tLEVEL\tMETRICS\tWHAT")
			for _, b := range perf.Catalogue() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.ID, b.Level().Name, strings.Join(b.Metrics, " "), b.Desc)
			}
			return tw.Flush()
		},
	})
	return c
}
