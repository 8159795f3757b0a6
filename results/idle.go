package results

import (
	"fmt"
	"slices"

	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// IdleFraction is how much longer than its CPU time a sample's wall time
// may be before IdleBound calls the benchmark idle-bound.
const IdleFraction = 0.10

// IdleBound returns, for a run whose clocks counted instructions, the
// benchmarks whose guest sat idle for part of each sample, with why: the
// median wall time on either side exceeds the median CPU time of the
// worker by more than IdleFraction. Under -icount sleep=off an idle
// vCPU's clock jumps to its next timer, so such a benchmark's wall time
// (the TCP paths', where the sender waits for the receiver and for the
// stack's timers) measures where the timers fall, not work: a kernel
// adding 2 µs of CPU to splice_to_socket() came out 3.6 % and 8.7 %
// faster in wall-time throughput, every sample at one level (±0 %). Its
// wall-time metrics then get no verdict of their own (PerfIdle), and
// its CPU per byte is the measure. In real time nothing is idle-bound.
func IdleBound(run *runs.Perf) map[string]string {
	if !run.Counted() {
		return nil
	}
	type key struct{ id, side string }
	wall, cpu := map[key][]float64{}, map[key][]float64{}
	for _, s := range run.Samples {
		if s.Warmup || s.Error != "" || s.Wall <= 0 {
			continue
		}
		k := key{s.ID, s.Side}
		wall[k] = append(wall[k], s.Wall.Seconds())
		cpu[k] = append(cpu[k], (s.User + s.Sys).Seconds())
	}
	out := map[string]string{}
	for _, id := range run.Benchmarks {
		for _, side := range []string{runs.Baseline, runs.Candidate} {
			k := key{id, side}
			w, c := median(wall[k]), median(cpu[k])
			if c > 0 && w > c*(1+IdleFraction) {
				out[id] = fmt.Sprintf("the %s's guest idled: wall time %.0f%% above CPU time, and under the instruction clock an idle vCPU's time jumps to its next timer; the CPU per byte is the measure", side, (w/c-1)*100)
				break
			}
		}
	}
	return out
}

// wallMetric reports whether metric is computed from wall time.
func wallMetric(metric string) bool {
	return metric == perf.Throughput || metric == perf.NsPerOp || metric == perf.CallsPerS
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
