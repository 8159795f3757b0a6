package results

import (
	"fmt"
	"io"
	"math"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// PerfTable renders the comparisons in the columns of the 0-day test
// robot's reports (base ±%stddev %change new ±%stddev), a benchmark's
// name above its metrics, followed by the p-value, sample counts and
// verdict. Lines stay within 72 columns.
func PerfTable(cs []PerfChange) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("%-12s %8s %5s %8s %8s %5s %6s %5s", "", "base", "±sd%", "%change", "new", "±sd%", "p", "n")
	last := ""
	for _, c := range cs {
		if c.Bench != last {
			w("%s", c.Bench)
			last = c.Bench
		}
		change := PerfSame
		if c.Verdict == PerfUnknown {
			change = "?"
		} else if c.Verdict != PerfSame {
			change = fmt.Sprintf("%+.1f%%", c.ChangePct)
		}
		w("  %-10s %8s %4.0f%% %8s %8s %4.0f%% %6s %5s %s", c.Metric,
			human(c.Base.Median), c.Base.StddevPct, change, human(c.New.Median), c.New.StddevPct,
			pValue(c), fmt.Sprintf("%d+%d", c.Base.N, c.New.N), mark(c))
	}
	return b.String()
}

func pValue(c PerfChange) string {
	if c.Base.N == 0 || c.New.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", c.P)
}

// mark flags a change for the eye: R regression, I improvement, with
// (exp) when expect.yaml declares it.
func mark(c PerfChange) string {
	s := ""
	switch c.Verdict {
	case PerfRegression:
		s = "R"
	case PerfImprovement:
		s = "I"
	case PerfBelow:
		s = "<thr"
	case PerfFamily:
		s = "holm"
	case PerfIdle:
		s = "idle"
	case PerfSuspect:
		s = "suspect"
	}
	if c.Expected != "" {
		s += " exp"
	}
	return s
}

// human renders v with an SI prefix and three significant digits.
func human(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

// PerfLegend explains the table and says what the numbers can be trusted
// for; accel is the accelerator both kernels ran under.
func PerfLegend(run *runs.Perf, st PerfStats) string {
	st = st.WithDefaults()
	var b strings.Builder
	if run.Counted() {
		fmt.Fprintf(&b, "Perf level %s: %d samples of %v per benchmark and kernel,\n", run.Level.Name, run.Level.Rounds, run.Level.Duration)
		fmt.Fprintf(&b, "in batches of %d per worker process (each after %d discarded), both kernels at once.\n", max(run.Level.Batch, 1), run.Level.Settle)
	} else {
		fmt.Fprintf(&b, "Perf level %s: %d rounds (+%d warm-up) of %v per benchmark\n", run.Level.Name, run.Level.Rounds, run.Level.Warmup, run.Level.Duration)
		fmt.Fprintf(&b, "and kernel, kernels booted side by side and sampled alternately")
		if run.PinnedCPU >= 0 {
			fmt.Fprintf(&b, ",\nboth pinned to host CPU %d", run.PinnedCPU)
		}
		fmt.Fprintf(&b, ".\n")
	}
	fmt.Fprintf(&b, "Medians; ±sd%% is the stddev in %% of the mean; p from the\n")
	fmt.Fprintf(&b, "Mann-Whitney U test; ~ means not significant at alpha=%.2g,\n", st.Alpha)
	fmt.Fprintf(&b, "below the %.3g%% threshold (<thr), or not after Holm's\n", st.Threshold)
	fmt.Fprintf(&b, "correction over the benchmarks (holm); idle: wall time of a guest that\n")
	fmt.Fprintf(&b, "idled under the instruction clock, no verdict. R regression, I improvement,\n")
	fmt.Fprintf(&b, "exp: declared in expect.yaml. Page cache warm (tmpfs).\n")
	switch {
	case run.Counted():
		fmt.Fprintf(&b, "Guest time is a count of executed instructions (QEMU -icount\n")
		fmt.Fprintf(&b, "shift=0,sleep=off: 1 ns per instruction) of an emulated CPU with\n")
		fmt.Fprintf(&b, "no caches, memory bandwidth or device latency. The same kernel and\n")
		fmt.Fprintf(&b, "binary give (nearly) the same count whatever the host does; what\n")
		fmt.Fprintf(&b, "it ranks is work done, which is what a copy or an extra code path\n")
		fmt.Fprintf(&b, "costs, not real speed.\n")
	case len(run.Boots) > 0 && run.Boots[0].Accel != runs.KVM:
		fmt.Fprintf(&b, "Under %s (emulation): absolute numbers are emulation numbers;\n", run.Boots[0].Accel)
		fmt.Fprintf(&b, "only the ratio between kernels under identical conditions means\n")
		fmt.Fprintf(&b, "anything.\n")
	}
	return b.String()
}

// WriteBenchfmt writes one side's measured samples in the Go benchmark
// format, so that `benchstat perf-baseline.txt perf-candidate.txt`
// compares them directly. The kernel is named in a leading comment line
// (benchfmt skips lines that are not results or configuration).
func WriteBenchfmt(w io.Writer, run *runs.Perf, side, kernel string) error {
	if _, err := fmt.Fprintf(w, "# patchtest %s kernel: %s\n", side, kernel); err != nil {
		return err
	}
	bw := benchfmt.NewWriter(w)
	// Each unit's direction first ("Unit cpu-s/GiB better=lower"), so
	// that benchstat knows which way is good for every metric, not only
	// for the units it recognises.
	said := map[string]bool{}
	for _, s := range run.Samples {
		b, ok := perf.Lookup(s.ID)
		if !ok || s.Side != side {
			continue
		}
		for _, m := range b.Metrics {
			unit, better := benchUnit(m), "lower"
			if perf.HigherIsBetter(m) {
				better = "higher"
			}
			if said[unit] {
				continue
			}
			said[unit] = true
			if err := bw.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: unit, Key: "better"}, OrigUnit: m, Value: better}); err != nil {
				return err
			}
		}
	}
	for _, s := range run.Samples {
		if s.Side != side || s.Warmup || s.Error != "" {
			continue
		}
		b, ok := perf.Lookup(s.ID)
		if !ok {
			continue
		}
		r := &benchfmt.Result{
			// The writer adds the "Benchmark" prefix itself.
			Name: benchfmt.Name(strings.TrimPrefix(b.GoName(), "Benchmark")), Iters: int(s.Ops),
			// Only keys both files share: a key that differs would make
			// benchstat split the files into separate tables instead of
			// comparing them. The file name says which kernel it is.
			Config: []benchfmt.Config{
				{Key: "perf-level", Value: []byte(run.Level.Name), File: true},
			},
		}
		for _, m := range b.Metrics {
			if v, ok := s.Metric(m); ok {
				if m == perf.NsPerOp {
					v /= 1e9
				}
				r.Values = append(r.Values, benchfmt.Value{Value: v, Unit: benchUnit(m)})
			}
		}
		if err := bw.Write(r); err != nil {
			return err
		}
	}
	return nil
}

// benchUnit is metric's unit as benchfmt writes it: ns/op as its tidy
// sec/op (the writer prints ns/op), the others as they are.
func benchUnit(metric string) string {
	if metric == perf.NsPerOp {
		return "sec/op"
	}
	return metric
}
