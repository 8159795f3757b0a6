package results

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// normal draws n values around mean with the given coefficient of
// variation.
func normal(r *rand.Rand, n int, mean, cv float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mean * (1 + cv*r.NormFloat64())
	}
	return out
}

func TestCompareMetricVerdicts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name         string
		metric       string
		base, cand   []float64
		want         string
		wantWarnings string
	}{
		{"5% throughput drop, n=10, 1% noise", perf.Throughput, normal(r, 10, 100, 0.01), normal(r, 10, 95, 0.01), PerfRegression, ""},
		{"5% throughput gain", perf.Throughput, normal(r, 10, 100, 0.01), normal(r, 10, 105, 0.01), PerfImprovement, ""},
		{"5% more ns/op is worse", perf.NsPerOp, normal(r, 10, 100, 0.01), normal(r, 10, 105, 0.01), PerfRegression, ""},
		{"5% less cpu per GiB is better", perf.CPUPerGiB, normal(r, 10, 100, 0.01), normal(r, 10, 95, 0.01), PerfImprovement, ""},
		{"identical distributions", perf.Throughput, normal(r, 10, 100, 0.02), normal(r, 10, 100, 0.02), PerfSame, ""},
		{"0.5% shift, tiny noise: below threshold", perf.Throughput, normal(r, 10, 100, 0.0005), normal(r, 10, 99.5, 0.0005), PerfBelow, ""},
		{"5 samples: no verdict", perf.Throughput, normal(r, 5, 100, 0.01), normal(r, 5, 50, 0.01), PerfUnknown, "at least 6 per side"},
		{"no candidate samples", perf.Throughput, normal(r, 10, 100, 0.01), nil, PerfUnknown, "no samples"},
		{"noisy host", perf.Throughput, normal(r, 10, 100, 0.3), normal(r, 10, 100, 0.3), PerfSame, "noisy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := compareMetric("b/x/1KiB", tc.metric, tc.base, tc.cand, 1, PerfStats{}.WithDefaults())
			if c.Verdict != tc.want {
				t.Errorf("verdict %q (change %+.2f%%, p=%.4f), want %q", c.Verdict, c.ChangePct, c.P, tc.want)
			}
			if tc.wantWarnings != "" && !strings.Contains(strings.Join(c.Warnings, "|"), tc.wantWarnings) {
				t.Errorf("warnings %q lack %q", c.Warnings, tc.wantWarnings)
			}
		})
	}
}

// TestFalsePositiveRate draws many pairs of samples from one distribution:
// at alpha 0.05 about one comparison in twenty may look significant, and
// the 1 % threshold must cut that further.
func TestFalsePositiveRate(t *testing.T) {
	// At n=10 per side the exact rank test's size is about 4.3 % at
	// alpha 0.05; 4000 trials estimate the rate to ±0.35 % (one sd), so a
	// bound of alpha plus three sd fails only when the rate really is
	// above alpha, not by the luck of the seed.
	r := rand.New(rand.NewPCG(3, 4))
	const trials = 4000
	flagged := 0
	for range trials {
		c := compareMetric("b/x/1KiB", perf.Throughput, normal(r, 10, 100, 0.02), normal(r, 10, 100, 0.02), 1, PerfStats{}.WithDefaults())
		if c.Significant() {
			flagged++
		}
	}
	sd := math.Sqrt(0.05 * 0.95 / trials)
	if rate := float64(flagged) / trials; rate > 0.05+3*sd {
		t.Errorf("%d of %d null comparisons flagged (%.2f%%), want at most alpha (5%%)", flagged, trials, rate*100)
	}
}

// The practical threshold: a shift that is significant but smaller than
// 1 % is "~ (<thr)", never a regression; one just above it is.
func TestThreshold(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		shift float64
		want  string
	}{{0.995, PerfBelow}, {0.98, PerfRegression}} {
		got := map[string]int{}
		for range 50 {
			c := compareMetric("b/x/1KiB", perf.Throughput, normal(r, 10, 100, 0.001), normal(r, 10, 100*tc.shift, 0.001), 1, PerfStats{}.WithDefaults())
			got[c.Verdict]++
		}
		if got[tc.want] != 50 {
			t.Errorf("shift %.3f: verdicts %v, want %s every time", tc.shift, got, tc.want)
		}
	}
}

// TestShiftDetected checks the test's power: a 5 % shift under 2 % noise
// must be found nearly always with the standard level's 10 samples.
func TestShiftDetected(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const trials = 200
	found := 0
	for range trials {
		c := compareMetric("b/x/1KiB", perf.Throughput, normal(r, 10, 100, 0.02), normal(r, 10, 95, 0.02), 1, PerfStats{}.WithDefaults())
		if c.Verdict == PerfRegression {
			found++
		}
	}
	if found < trials*95/100 {
		t.Errorf("5%% shift found in %d of %d trials", found, trials)
	}
}

func fakePerfRun(r *rand.Rand, rounds int, shift float64) *runs.Perf {
	run := &runs.Perf{Level: perf.Standard.Record()}
	bs, _ := perf.Select(perf.Quick)
	for _, b := range bs {
		run.Benchmarks = append(run.Benchmarks, b.ID)
	}
	for round := range rounds + 1 {
		for _, id := range run.Benchmarks {
			for _, side := range []string{runs.Baseline, runs.Candidate} {
				wall := 100 * time.Millisecond
				if side == runs.Candidate {
					wall = time.Duration(float64(wall) * (1 + shift))
				}
				wall = time.Duration(float64(wall) * (1 + 0.01*r.NormFloat64()))
				run.Samples = append(run.Samples, runs.PerfSample{Side: side, Round: round, Warmup: round == 0, Sample: perf.Sample{
					ID: id, Bytes: 1 << 30, Ops: 1000, Calls: 2000, Wall: wall, User: wall / 10, Sys: wall / 2, MaxRSSKiB: 100, Busy: wall * 6 / 10, Segs: 40,
				}})
			}
		}
	}
	return run
}

func TestComparePerfRun(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	run := fakePerfRun(r, 10, 0.10) // the candidate takes 10 % longer
	cs := ComparePerf(run, PerfStats{})
	if len(cs) == 0 {
		t.Fatal("no comparisons")
	}
	for _, c := range cs {
		if c.Base.N != 10 || c.New.N != 10 {
			t.Errorf("%s %s: n=%d+%d, want 10+10 (warm-up left out)", c.Bench, c.Metric, c.Base.N, c.New.N)
		}
		want := PerfRegression
		if c.Metric == perf.PeakRSS {
			want = PerfSame
		}
		if c.Verdict != want {
			t.Errorf("%s %s: %s (%+.1f%%), want %s", c.Bench, c.Metric, c.Verdict, c.ChangePct, want)
		}
	}
	MarkExpected(cs, []PerfExpectation{{Benchmarks: "vmsplice/*", Change: PerfRegression}})
	regs := PerfRegressions(cs, 5)
	for _, c := range regs {
		if strings.HasPrefix(c.Bench, "vmsplice/") {
			t.Errorf("expected regression %s listed as unexpected", c.Bench)
		}
	}
	if len(regs) == 0 {
		t.Error("no unexpected regressions")
	}
	if got := PerfRegressions(cs, 50); len(got) != 0 {
		t.Errorf("%d regressions above a 50%% threshold, want none", len(got))
	}
	table := PerfTable(cs)
	for _, l := range strings.Split(table, "\n") {
		if len([]rune(l)) > 72 {
			t.Errorf("line over 72 columns: %q", l)
		}
	}
	if !strings.Contains(table, "R exp") || !strings.Contains(table, "sendfile/file-tcp/1MiB") {
		t.Errorf("table:\n%s", table)
	}
}

func TestWriteBenchfmtRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	run := fakePerfRun(r, 6, 0)
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, run, runs.Candidate, "6.12-patched"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "# patchtest candidate kernel: 6.12-patched\n") {
		t.Errorf("no kernel line: %q", buf.String()[:60])
	}
	text := buf.String()
	rd := benchfmt.NewReader(&buf, "new.txt")
	n := 0
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.Result:
			n++
			// Every unit comes with its direction, as benchstat reads it.
			for _, v := range rec.Values {
				want := "lower"
				if v.Unit == perf.Throughput || v.Unit == perf.CallsPerS {
					want = "higher"
				}
				if m := rd.Units().Get(v.Unit, "better"); m == nil || m.Value != want {
					t.Errorf("unit %s: better=%v, want %s\n%s", v.Unit, m, want, text)
				}
			}
			if rec.GetConfig("perf-level") != "standard" || strings.HasPrefix(string(rec.Name), "Benchmark") {
				t.Errorf("result %s config %v", rec.Name, rec.Config)
			}
			if n == 1 && string(rec.Name) != "Sendfile/file-tcp/size=1MiB" {
				t.Errorf("first result named %q, want Sendfile/file-tcp/size=1MiB", rec.Name)
			}
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		}
	}
	if want := 6 * len(run.Benchmarks); n != want {
		t.Errorf("%d results read back, want %d", n, want)
	}
}

func BenchmarkComparePerf(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	run := fakePerfRun(r, 20, 0.02)
	b.ResetTimer()
	for b.Loop() {
		ComparePerf(run, PerfStats{})
	}
}

// Holm's correction: a lone change at p=0.03 among 13 benchmarks is not
// called; one at p=0.002 is; and so are the next ones only while each is
// below alpha over the benchmarks left. A benchmark's other metrics are
// called only at the level their benchmark passed at.
func TestFamilyWiseHolm(t *testing.T) {
	mk := func(bench, metric string, p float64) PerfChange {
		return PerfChange{Bench: bench, Metric: metric, ChangePct: -20, P: p, Verdict: PerfRegression}
	}
	var same []PerfChange
	for i := range 12 {
		same = append(same, PerfChange{Bench: fmt.Sprintf("b/same/%d", i), Metric: perf.Throughput, P: 0.5, Verdict: PerfSame})
	}
	called := func(cs []PerfChange) string {
		familyWise(cs, 0.05)
		var names []string
		for _, c := range cs {
			if c.Significant() {
				names = append(names, c.Bench+":"+c.Metric)
			} else if c.Verdict != PerfSame && c.Verdict != PerfFamily {
				t.Errorf("%s: verdict %q", c.Bench, c.Verdict)
			}
		}
		return strings.Join(names, ",")
	}
	if got := called(append(slices.Clone(same), mk("b/x/1", perf.Throughput, 0.03))); got != "" {
		t.Errorf("p=0.03 among 13 benchmarks called: %v", got)
	}
	got := called(append(slices.Clone(same), mk("b/x/1", perf.Throughput, 0.002), mk("b/x/1", perf.CPUPerGiB, 0.003),
		mk("b/x/1", perf.NsPerOp, 0.04), mk("b/x/2", perf.Throughput, 0.0035), mk("b/x/3", perf.Throughput, 0.02)))
	if got != "b/x/1:B/s,b/x/1:cpu-s/GiB,b/x/2:B/s" {
		t.Errorf("called %v, want b/x/1 (0.002 <= 0.05/15) with its cpu-s/GiB (0.003 <= 0.05/15) but not its ns/op (0.04), and b/x/2 (0.0035 <= 0.05/14), not b/x/3", got)
	}
	regs := PerfRegressions([]PerfChange{mk("b/x/1", perf.Throughput, 0.001), {Bench: "b/x/2", ChangePct: -1, Verdict: PerfRegression}}, 5)
	if len(regs) != 1 || regs[0].Bench != "b/x/1" {
		t.Errorf("regressions of 5%% or more: %v", regs)
	}
}
