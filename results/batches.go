package results

import (
	"math"
	"sort"
)

// designEffect is how much less a metric's samples say than their number
// when they came in batches, a worker process taking several in a row:
// 1 + (m-1)·ICC, m the batches' mean size and ICC the intraclass
// correlation of the samples' ranks within their side (one-way analysis
// of variance over the batches, both sides pooled, each side's own level
// removed). Samples that owe nothing to their batch give 1; a batch
// whose samples sit at a level of their own (the TCP paths' wall time
// under the instruction clock, set by where the timers fall) gives up
// to m: the batch, not the sample, is then the unit of evidence.
// sides holds each side's batches; a side of one batch tells nothing of
// the batches and counts with none.
func designEffect(sides ...[][]float64) float64 {
	var ssb, ssw float64
	var n, groups, dfb int
	for _, batches := range sides {
		var all []float64
		var sizes []int
		for _, b := range batches {
			if len(b) > 0 {
				all = append(all, b...)
				sizes = append(sizes, len(b))
			}
		}
		if len(sizes) < 2 {
			continue
		}
		rank := ranks(all)
		mean := float64(len(all)+1) / 2
		i := 0
		for _, size := range sizes {
			var sum float64
			for _, r := range rank[i : i+size] {
				sum += r
			}
			gm := sum / float64(size)
			for _, r := range rank[i : i+size] {
				ssw += (r - gm) * (r - gm)
			}
			ssb += float64(size) * (gm - mean) * (gm - mean)
			i += size
		}
		n += len(all)
		groups += len(sizes)
		dfb += len(sizes) - 1
	}
	dfw := n - groups
	if dfb == 0 || dfw <= 0 {
		return 1
	}
	msb, msw := ssb/float64(dfb), ssw/float64(dfw)
	m := float64(n) / float64(groups)
	if msb <= msw {
		return 1
	}
	icc := (msb - msw) / (msb + (m-1)*msw)
	return 1 + (m-1)*icc
}

// ranks returns the ranks of xs, 1 for the smallest, ties sharing their
// mean rank.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	out := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			out[idx[k]] = r
		}
		i = j
	}
	return out
}

// deflate returns the two-sided p-value of a test whose statistic had
// p-value p, once its variance is taken as deff times larger: its normal
// score shrinks by the square root of deff.
func deflate(p, deff float64) float64 {
	if deff <= 1 || p <= 0 || p >= 1 {
		return p
	}
	z := math.Sqrt2 * math.Erfcinv(p)
	return math.Erfc(z / math.Sqrt(deff) / math.Sqrt2)
}
