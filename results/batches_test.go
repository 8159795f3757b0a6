package results

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDesignEffect(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// iid returns a side of b batches of m samples, each batch offset
	// by level times its index.
	side := func(b, m int, level float64) [][]float64 {
		out := make([][]float64, b)
		for i := range out {
			for range m {
				out[i] = append(out[i], 100+level*float64(i)+r.NormFloat64())
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		sides    [][][]float64
		min, max float64
	}{
		{"samples owing nothing to their batch", [][][]float64{side(8, 3, 0), side(8, 3, 0)}, 1, 1.6},
		{"each batch at its own level", [][][]float64{side(4, 3, 50), side(4, 3, 50)}, 2.8, 3},
		{"a level per batch, half the spread", [][][]float64{side(6, 4, 1), side(6, 4, 1)}, 1.5, 4},
		{"one batch per side tells nothing", [][][]float64{side(1, 12, 0), side(1, 12, 0)}, 1, 1},
		{"all samples equal", [][][]float64{{{1, 1}, {1, 1}}, {{1, 1}, {1, 1}}}, 1, 1},
		{"no samples", nil, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := designEffect(tc.sides...); d < tc.min || d > tc.max {
				t.Errorf("design effect %.2f, want %g to %g", d, tc.min, tc.max)
			}
		})
	}
}

func TestDeflate(t *testing.T) {
	for _, tc := range []struct{ p, deff, want float64 }{
		{0.0027, 1, 0.0027},
		{0.0027, 4, 0.1336}, // z 3 becomes 1.5
		{0.05, 1.5, 0.1096},
		{1, 3, 1},
		{0, 3, 0},
	} {
		if got := deflate(tc.p, tc.deff); math.Abs(got-tc.want) > 0.0005 {
			t.Errorf("deflate(%g, %g) = %.4f, want %.4f", tc.p, tc.deff, got, tc.want)
		}
	}
}

func TestRanks(t *testing.T) {
	got := ranks([]float64{3, 1, 3, 2})
	want := []float64{3.5, 1, 3.5, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ranks %v, want %v", got, want)
		}
	}
}
