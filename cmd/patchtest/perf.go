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
each) and takes every benchmark's samples on both. For each metric it
reports the median of each kernel, the change in %, the Mann-Whitney U
p-value and the stddev in % of the mean, which shows a noisy host. A
change is called when p < alpha (0.05), it is at least the threshold
(1 %), and its benchmark survives Holm's correction over the benchmarks
compared. No verdict is drawn from fewer than 6 samples per side.

Under TCG guest time counts executed instructions by default (--clock
icount; QEMU -icount shift=0,sleep=off): host load cannot reach the
measurement, so both kernels run at once on their own host CPUs and each
worker takes a batch of short samples after two it discards. Levels
there: quick (12 samples of 10 ms in 4 batches, one size per
benchmark), standard (16 of 10 ms in 4, more sizes), thorough (40 of
40 ms in 8, all). An undeclared regression of 1.5 %
fails the run. In real time (KVM, or --clock real) the kernels take
turns on one host CPU, one worker per sample: quick (6 rounds of 100 ms),
standard (10 of 250 ms), thorough (20 of 500 ms); 5 % fails the run.

--null runs the candidate kernel as both A and B: nearly every metric
must come out ~, which is how to check that a host measures well.

Under TCG absolute numbers are emulation numbers; only ratios between
kernels under identical conditions mean anything. Instruction-count time
ranks work done (a copy, an extra code path), not real speed: there are
no caches, memory bandwidth or device latency. --require-kvm refuses
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
