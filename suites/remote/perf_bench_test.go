package remote_test

import (
	"context"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/vm"
)

// BenchmarkPerfNull runs, per iteration, one null perf run of the stock
// kernel (the same kernel as A and B) under the instruction clock, at
// each level: ns/op is the level's wall time (both boots included), and
// flagged-runs counts the runs in which any metric came out significant,
// failing-runs those that would fail. The bar is at most one
// flagged run in 20:
//
//	go test ./suites/remote -run '^$' -bench 'PerfNull/quick' -benchtime 20x -timeout 60m
func BenchmarkPerfNull(b *testing.B) {
	for _, level := range []perf.Level{perf.Quick, perf.Standard} {
		b.Run(level.Name, func(b *testing.B) {
			stock := perfBoot(b, kernels.Request{})
			flagged, failing := 0, 0
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
				run, err := remote.RunPerf(ctx, remote.PerfOptions{
					Baseline: stock, Candidate: stock, Level: level, Counted: level.Counted(), Clock: vm.Instructions,
				})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				cs := results.ComparePerf(run, results.PerfStats{})
				var sig []string
				for _, c := range cs {
					if c.Significant() {
						sig = append(sig, c.Bench+" "+c.Metric+" "+c.Verdict)
					}
				}
				if len(sig) > 0 {
					flagged++
					b.Logf("flagged: %v", sig)
				}
				if len(results.PerfRegressions(cs, configs.MustDefaults().Perf.CountedFailPct)) > 0 {
					failing++
				}
				b.Logf("run of %v, %d flagged", run.Wall.Round(time.Second), len(sig))
			}
			b.ReportMetric(float64(flagged), "flagged-runs")
			b.ReportMetric(float64(failing), "failing-runs")
		})
	}
}
