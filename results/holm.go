package results

import "sort"

// familyWise keeps the verdicts of cs that survive Holm's step-down
// correction at alpha over the benchmarks compared, each benchmark
// standing for its metrics (which share their samples) with the smallest
// p of its changes, and each metric of a benchmark kept passing the
// level its benchmark passed at (a TCP path's CPU cost at p < 0.001 no
// longer carries its wall-time throughput through at p = 0.04); the
// others become PerfFamily. Without it a run
// comparing 15 benchmarks would show a change by chance in about half the
// runs; with it, in about alpha of them. Shifts of a few standard
// deviations still pass with 10 or more samples per side (the rank test's
// p then goes down to 1e-5), and with 6 when the sides do not overlap.
func familyWise(cs []PerfChange, alpha float64) {
	family := map[string]bool{}
	best := map[string]float64{}
	for _, c := range cs {
		if c.Verdict != PerfUnknown {
			family[c.Bench] = true
		}
		if c.Significant() {
			if p, ok := best[c.Bench]; !ok || c.P < p {
				best[c.Bench] = c.P
			}
		}
	}
	benches := make([]string, 0, len(best))
	for b := range best {
		benches = append(benches, b)
	}
	sort.Slice(benches, func(i, j int) bool {
		if best[benches[i]] != best[benches[j]] {
			return best[benches[i]] < best[benches[j]]
		}
		return benches[i] < benches[j]
	})
	// Each benchmark kept, with the level its smallest p passed at.
	keep := map[string]float64{}
	for k, b := range benches {
		level := alpha / float64(len(family)-k)
		if best[b] > level {
			break
		}
		keep[b] = level
	}
	for i := range cs {
		if level, ok := keep[cs[i].Bench]; cs[i].Significant() && (!ok || cs[i].P > level) {
			cs[i].Verdict = PerfFamily
		}
	}
}
