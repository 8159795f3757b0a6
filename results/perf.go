package results

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"golang.org/x/perf/benchmath"

	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// PerfStats are the statistics rules of a perf comparison.
type PerfStats struct {
	// Alpha is the Mann-Whitney U test's significance level; 0.05 when 0.
	Alpha float64 `json:"alpha"`
	// Threshold is the least |change| in percent that counts as a real
	// change even when statistically significant; 1 when 0.
	Threshold float64 `json:"threshold_pct"`
	// Confidence is the level of the medians' confidence intervals; 0.95
	// when 0.
	Confidence float64 `json:"confidence"`
}

// The statistics' rules when none are given: the conventional 5 %
// significance level, a 1 % threshold and 95 % confidence intervals. The
// built-in configuration (configs/default.yaml) says the same; a test in
// the pipeline holds the two together.
const (
	DefaultAlpha      = 0.05
	DefaultThreshold  = 1.0
	DefaultConfidence = 0.95
)

// WithDefaults fills the settings left zero with the defaults above.
func (s PerfStats) WithDefaults() PerfStats {
	if s.Alpha == 0 {
		s.Alpha = DefaultAlpha
	}
	if s.Threshold == 0 {
		s.Threshold = DefaultThreshold
	}
	if s.Confidence == 0 {
		s.Confidence = DefaultConfidence
	}
	return s
}

// MinSamples is the fewest samples per side from which a verdict is
// drawn: below 6 the median's 95 % confidence interval is unbounded, and
// benchstat draws no conclusion either.
const MinSamples = 6

// Verdicts of a metric comparison.
const (
	PerfSame   = "~"        // no significant change
	PerfBelow  = "~ (<thr)" // significant, but smaller than the threshold
	PerfFamily = "~ (holm)" // significant alone, not after Holm's correction over the benchmarks
	// PerfIdle is a wall-time metric of a benchmark whose guest idled
	// under the instruction clock (IdleBound): no verdict of its own.
	PerfIdle        = "~ (idle)"
	PerfImprovement = "improvement" // significant and above the threshold, for the better
	PerfRegression  = "regression"  // significant and above the threshold, for the worse
	PerfUnknown     = "?"           // too few samples to tell
	// PerfSuspect is an improvement, or the calibration's own change,
	// called while the calibration moved (Suspect): the measurement is
	// in doubt, so nothing is claimed for the better.
	PerfSuspect = "suspect"
)

// Dist summarises one side's samples of a metric.
type Dist struct {
	N int `json:"n"`
	// Median and its confidence interval [Lo, Hi].
	Median float64 `json:"median"`
	Lo     float64 `json:"ci_lo"`
	Hi     float64 `json:"ci_hi"`
	Mean   float64 `json:"mean"`
	// StddevPct is the coefficient of variation: the standard deviation
	// as a percentage of the mean (0-day's ±%stddev).
	StddevPct float64   `json:"stddev_pct"`
	Values    []float64 `json:"values"`
}

// PerfChange is the comparison of one metric of one benchmark.
type PerfChange struct {
	Bench     string  `json:"bench"`
	Metric    string  `json:"metric"`
	Base      Dist    `json:"base"`
	New       Dist    `json:"new"`
	ChangePct float64 `json:"change_pct"`
	P         float64 `json:"p"`
	Verdict   string  `json:"verdict"`
	// DesignEffect is how many times fewer independent samples the
	// metric's batches amount to than their count (designEffect), when
	// above 1: its p is computed with that much less evidence.
	DesignEffect float64 `json:"design_effect,omitempty"`
	// Expected names the expect.yaml entry that declares this change.
	Expected string   `json:"expected,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Significant reports whether the change is a real one: statistically
// significant and above the threshold.
func (c PerfChange) Significant() bool {
	return c.Verdict == PerfImprovement || c.Verdict == PerfRegression
}

// ComparePerf computes, for every benchmark and metric of run, the
// baseline's and candidate's distributions and whether they differ.
// Warm-up samples and failed samples are left out.
func ComparePerf(run *runs.Perf, st PerfStats) []PerfChange {
	st = st.WithDefaults()
	type key struct{ bench, metric, side string }
	values := map[key][]float64{}
	// Each side's samples by the worker batch they came in.
	batches := map[key]map[int][]float64{}
	size := max(run.Level.Batch, 1)
	for _, s := range run.Samples {
		if s.Warmup || s.Error != "" {
			continue
		}
		b, ok := perf.Lookup(s.ID)
		if !ok {
			continue
		}
		for _, m := range b.Metrics {
			if v, ok := s.Metric(m); ok {
				k := key{s.ID, m, s.Side}
				values[k] = append(values[k], v)
				if batches[k] == nil {
					batches[k] = map[int][]float64{}
				}
				batches[k][s.Round/size] = append(batches[k][s.Round/size], v)
			}
		}
	}
	idle := IdleBound(run)
	var out []PerfChange
	for _, id := range run.Benchmarks {
		b, ok := perf.Lookup(id)
		if !ok {
			continue
		}
		for _, m := range b.Metrics {
			kb, kc := key{id, m, runs.Baseline}, key{id, m, runs.Candidate}
			deff := 1.0
			if size > 1 {
				deff = designEffect(byBatch(batches[kb]), byBatch(batches[kc]))
			}
			c := compareMetric(id, m, values[kb], values[kc], deff, st)
			if looks := 1 + run.Extended[id]; looks > 1 && c.Verdict != PerfUnknown {
				lookedAgain(&c, looks, st)
			}
			if idle[id] != "" && wallMetric(m) && c.Verdict != PerfUnknown && c.Verdict != PerfSame {
				c.Verdict = PerfIdle
				c.Warnings = append(c.Warnings, "idle: "+idle[id])
			}
			out = append(out, c)
		}
	}
	familyWise(out, st.Alpha)
	return out
}

// byBatch lists batches in their order.
func byBatch(m map[int][]float64) [][]float64 {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([][]float64, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// compareMetric compares one metric's samples of the two kernels; deff
// is their design effect (designEffect), by which the rank test's
// variance is taken as larger.
func compareMetric(bench, metric string, base, cand []float64, deff float64, st PerfStats) PerfChange {
	th := benchmath.Thresholds{CompareAlpha: st.Alpha}
	sb, sc := benchmath.NewSample(base, &th), benchmath.NewSample(cand, &th)
	c := PerfChange{Bench: bench, Metric: metric, Base: dist(sb, st.Confidence), New: dist(sc, st.Confidence)}
	var warn []error
	warn = append(warn, sb.Warnings...)
	warn = append(warn, sc.Warnings...)
	if c.Base.N == 0 || c.New.N == 0 {
		c.Verdict = PerfUnknown
		c.Warnings = append(c.Warnings, "no samples on one side")
		return c
	}
	cmp := benchmath.AssumeNothing.Compare(sb, sc)
	warn = append(warn, cmp.Warnings...)
	c.P = cmp.P
	if deff > 1.05 {
		c.DesignEffect = deff
		c.P = deflate(cmp.P, deff)
		c.Warnings = append(c.Warnings, fmt.Sprintf("batched: samples cluster by worker batch (design effect %.1f), p %.2g taken as %.2g", deff, cmp.P, c.P))
	}
	if c.Base.Median != 0 {
		c.ChangePct = (c.New.Median - c.Base.Median) / c.Base.Median * 100
	}
	switch {
	case c.Base.N < MinSamples || c.New.N < MinSamples:
		c.Verdict = PerfUnknown
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d+%d samples: at least %d per side are needed for a verdict", c.Base.N, c.New.N, MinSamples))
	case cmp.P >= st.Alpha:
		c.Verdict = PerfSame
	case math.Abs(c.ChangePct) < st.Threshold:
		c.Verdict = PerfBelow
	case (c.ChangePct > 0) == perf.HigherIsBetter(metric):
		c.Verdict = PerfImprovement
	default:
		c.Verdict = PerfRegression
	}
	for _, w := range warn {
		c.Warnings = append(c.Warnings, w.Error())
	}
	for _, d := range []Dist{c.Base, c.New} {
		if d.StddevPct > 10 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("noisy: ±%.0f%% stddev on one side", d.StddevPct))
			break
		}
	}
	return c
}

func dist(s *benchmath.Sample, confidence float64) Dist {
	d := Dist{N: len(s.Values), Values: s.Values}
	if d.N == 0 {
		return d
	}
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	d.Median, d.Lo, d.Hi = sum.Center, sum.Lo, sum.Hi
	for _, v := range s.Values {
		d.Mean += v
	}
	d.Mean /= float64(d.N)
	if d.N > 1 && d.Mean != 0 {
		var ss float64
		for _, v := range s.Values {
			ss += (v - d.Mean) * (v - d.Mean)
		}
		d.StddevPct = math.Sqrt(ss/float64(d.N-1)) / math.Abs(d.Mean) * 100
	}
	return d
}

// Suspect checks the measurement itself: the calibration (pread from
// tmpfs, perf.Calibration) is a benchmark no patch to the splice family
// reaches, so when it moves — significant at alpha and beyond the
// threshold, before Holm's correction, either way — the samples carry
// something other than the change (work left over from earlier samples,
// a host effect). Suspect then returns why, in one line, and turns the
// calibration's verdict and every improvement into PerfSuspect: a
// comparison that cannot hold its own yardstick still claims no
// improvement. Regressions stay as they are, and fail the run as before.
// It returns "" and leaves cs alone when the calibration held or did not
// run.
func Suspect(cs []PerfChange) string {
	calib := func(c PerfChange) bool {
		return strings.HasPrefix(c.Bench, perf.Calibration+"/") && (c.Significant() || c.Verdict == PerfFamily)
	}
	var moved []string
	for _, c := range cs {
		if calib(c) {
			moved = append(moved, fmt.Sprintf("%s %s %+.1f%% (p=%.3f)", c.Bench, c.Metric, c.ChangePct, c.P))
		}
	}
	if len(moved) == 0 {
		return ""
	}
	for i, c := range cs {
		if calib(c) || c.Verdict == PerfImprovement {
			cs[i].Verdict = PerfSuspect
		}
	}
	return "the calibration, which the change cannot reach, moved: " + strings.Join(moved, ", ")
}
