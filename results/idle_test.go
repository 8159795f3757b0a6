package results

import (
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// Under the instruction clock a benchmark whose wall time exceeds its
// CPU time (its guest idled) keeps its CPU verdict and loses its
// wall-time ones; one that kept the CPU busy keeps both, and in real
// time nothing is idle-bound.
func TestIdleBound(t *testing.T) {
	const tcp, quiet = "sendfile/file-tcp/1MiB", "vmsplice/pipe-devnull/64KiB"
	mk := func(counted bool) *runs.Perf {
		run := &runs.Perf{Level: perf.Quick.Counted().Record(), Benchmarks: []string{tcp, quiet}}
		clock := "icount shift=0,sleep=off"
		if !counted {
			clock = "real time"
		}
		run.Boots = []runs.Machine{{Clock: clock}, {Clock: clock}}
		for round := range 12 {
			for _, side := range []string{runs.Baseline, runs.Candidate} {
				// The candidate costs 3 % more CPU on both; on the TCP
				// path its wall time is 5 % shorter (its timers fell
				// elsewhere), its wall 60 % above its CPU time.
				cost := time.Duration(round%3) * time.Microsecond
				if side == runs.Candidate {
					cost += 300 * time.Microsecond
				}
				tcpWall := 16*time.Millisecond + cost
				if side == runs.Candidate {
					tcpWall = 15200*time.Microsecond + cost
				}
				run.Samples = append(run.Samples,
					runs.PerfSample{Side: side, Round: round, Sample: perf.Sample{ID: tcp, Bytes: 1 << 23, Ops: 8, Calls: 16, Wall: tcpWall, Sys: 10*time.Millisecond + cost, MaxRSSKiB: 7000}},
					runs.PerfSample{Side: side, Round: round, Sample: perf.Sample{ID: quiet, Bytes: 1 << 23, Ops: 8, Calls: 16, Wall: 10*time.Millisecond + cost, Sys: 10*time.Millisecond + cost, MaxRSSKiB: 7000}})
			}
		}
		return run
	}
	verdicts := func(run *runs.Perf) map[string]string {
		v := map[string]string{}
		for _, c := range ComparePerf(run, PerfStats{}) {
			v[c.Bench+" "+c.Metric] = c.Verdict
			if c.Verdict == PerfIdle && !strings.Contains(strings.Join(c.Warnings, ";"), "idle: the baseline's guest idled") {
				t.Errorf("%s %s: warnings %q, want the idle note", c.Bench, c.Metric, c.Warnings)
			}
		}
		return v
	}
	got := verdicts(mk(true))
	for k, want := range map[string]string{
		tcp + " " + perf.CPUPerGiB:    PerfRegression,
		tcp + " " + perf.Throughput:   PerfIdle,
		quiet + " " + perf.CPUPerGiB:  PerfRegression,
		quiet + " " + perf.Throughput: PerfRegression,
	} {
		if got[k] != want {
			t.Errorf("counted: %s: %q, want %q", k, got[k], want)
		}
	}
	if b := IdleBound(mk(true)); len(b) != 1 || b[tcp] == "" {
		t.Errorf("IdleBound = %v, want only %s", b, tcp)
	}
	if got := verdicts(mk(false)); got[tcp+" "+perf.Throughput] != PerfImprovement {
		t.Errorf("real time: %s B/s %q, want the improvement called", tcp, got[tcp+" "+perf.Throughput])
	}
}
