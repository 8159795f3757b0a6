// Package perf holds patchtest's benchmarks: how fast, and at what CPU
// cost, a kernel moves data with splice, sendfile, vmsplice, tee and
// copy_file_range, next to the plain read/write baselines they are meant
// to beat. The guest runs one benchmark per process (package perf's
// Worker) so that each sample's CPU time and peak memory are its own; the
// host asks for samples one at a time (Serve) and interleaves two kernels.
package perf

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchtest/patchtest/suites/runs"
)

// Level is how much a perf run measures: which benchmarks, how many
// samples, how long each.
type Level struct {
	Name string `json:"name"`
	// Rounds is the number of measured samples per benchmark and kernel.
	Rounds int `json:"rounds"`
	// Warmup samples are taken first and discarded.
	Warmup int `json:"warmup"`
	// Duration is each sample's target time of measurement.
	Duration time.Duration `json:"duration_ns"`
	// Batch is the number of samples one worker process takes in a row
	// (after one set-up and one untimed operation); 0 means 1.
	Batch int `json:"batch,omitempty"`
	// Settle is the number of samples each worker takes before its
	// measured ones and discards: a fresh worker's first samples carry
	// its own start-up (a new connection's slow start, a cold page
	// cache), which the instruction clock counts.
	Settle int `json:"settle,omitempty"`
	// Extra is the most passes of adaptive sampling after the level's
	// own batches: each pass takes one more batch of every benchmark
	// whose comparison is still undecided (results.Undecided), the
	// passes together no more batches than the level itself took, so
	// that a level costs at most twice its time. 0: none.
	Extra int `json:"extra,omitempty"`
	rank  int
}

// The levels, from cheapest to most thorough, as measured in real time.
// quick is the smallest sample benchstat draws a conclusion from (6 per
// side); each sample is its own worker process, so that what one sample
// leaves behind (caches, allocator state) reaches no other.
var (
	Quick    = Level{Name: "quick", Rounds: 6, Warmup: 1, Duration: 100 * time.Millisecond, rank: 1}
	Standard = Level{Name: "standard", Rounds: 10, Warmup: 1, Duration: 250 * time.Millisecond, rank: 2}
	Thorough = Level{Name: "thorough", Rounds: 20, Warmup: 2, Duration: 500 * time.Millisecond, rank: 3}
)

// Counted returns the level's shape for a clock that counts executed
// instructions. There the host cannot reach a sample and a sample's
// spread is a fraction of a percent, so many short samples are taken in
// batches by few workers: the rank test then has enough samples to reach
// significance after Holm's correction, and the run spends its time
// measuring rather than starting processes and preparing files. Each
// worker's first two samples are discarded: on the TCP paths they came
// out 2–6 % dearer in CPU than the rest of their batch, every batch.
// Batches are small (3 to 5 samples), so that each side has 4 or more:
// a batch's samples share a level of their own (where the timers fall),
// and the statistics count that (results' design effect) only with
// batches enough to see it.
//
// Counted levels sample adaptively (Extra): with the noise measured on
// the TCP paths, 12 samples a side caught a 2 % cost on
// vmsplice/pipe-tcp in 146 of 200 simulated runs, and up to six more
// batches where the comparison was undecided in 197 to 200, at some 3
// more batches per run (results' TestCountedRule).
func (l Level) Counted() Level {
	c := l
	c.Warmup, c.Settle, c.Extra = 0, 2, 6
	switch l.rank {
	case Quick.rank:
		c.Rounds, c.Batch, c.Duration = 12, 3, 10*time.Millisecond
	case Standard.rank:
		c.Rounds, c.Batch, c.Duration = 16, 4, 10*time.Millisecond
	default:
		c.Rounds, c.Batch, c.Duration = 40, 5, 40*time.Millisecond
	}
	return c
}

// Workers returns the worker processes each kernel runs per benchmark
// and the samples each takes: the level's warm-up and measured samples,
// in batches of at most Batch.
func (l Level) Workers() []int {
	total, batch := l.Warmup+l.Rounds, max(l.Batch, 1)
	var out []int
	for total > 0 {
		n := min(batch, total)
		out = append(out, n)
		total -= n
	}
	return out
}

// Taken returns the samples each kernel takes per benchmark: the
// measured ones, the warm-up and each worker's settling ones.
func (l Level) Taken() int {
	return l.Warmup + l.Rounds + l.Settle*len(l.Workers())
}

// Record is the level as a run's record keeps it.
func (l Level) Record() runs.PerfLevel {
	return runs.PerfLevel{Name: l.Name, Rounds: l.Rounds, Warmup: l.Warmup, Duration: l.Duration, Batch: l.Batch, Settle: l.Settle, Extra: l.Extra}
}

// ParseLevel returns the level called name.
func ParseLevel(name string) (Level, error) {
	for _, l := range []Level{Quick, Standard, Thorough} {
		if l.Name == name {
			return l, nil
		}
	}
	return Level{}, fmt.Errorf("perf level %q: want quick, standard, thorough or off", name)
}

// Metric names (the run model's; see package runs). Each says its
// unit; HigherIsBetter says which way is good.
const (
	Throughput = runs.Throughput
	CPUPerGiB  = runs.CPUPerGiB
	NsPerOp    = runs.NsPerOp
	CallsPerS  = runs.CallsPerS
	PeakRSS    = runs.PeakRSS
)

// HigherIsBetter reports whether a larger value of metric is an
// improvement.
func HigherIsBetter(metric string) bool {
	return metric == Throughput || metric == CallsPerS
}

// Benchmark is one measurement: a data path at one size.
type Benchmark struct {
	// ID is stable across releases: group/path/size, e.g.
	// vmsplice/pipe-devnull/64KiB.
	ID string
	// Desc says in one line what is measured.
	Desc string
	// Size is the bytes moved per operation (the parameter).
	Size int
	// Metrics are the metrics reported, the primary one first.
	Metrics []string
	// level is the least level that runs the benchmark.
	level int
	// setup prepares one sample and returns its operation.
	setup func(e *env) (*op, error)
}

// Level returns the least level that runs the benchmark.
func (b *Benchmark) Level() Level {
	for _, l := range []Level{Quick, Standard, Thorough} {
		if l.rank >= b.level {
			return l
		}
	}
	return Thorough
}

// GoName is the name in Go benchmark format, for benchstat:
// BenchmarkVmsplice/pipe-devnull/size=64KiB.
func (b *Benchmark) GoName() string {
	parts := strings.Split(b.ID, "/")
	g := parts[0]
	g = strings.ToUpper(g[:1]) + strings.ReplaceAll(g[1:], "_", "")
	parts[0] = "Benchmark" + g
	parts[len(parts)-1] = "size=" + parts[len(parts)-1]
	return strings.Join(parts, "/")
}

// Catalogue returns every benchmark, in a fixed order.
func Catalogue() []*Benchmark { return slices.Clone(table().list) }

// benchTable is the catalogue, built once: it is code, not state.
type benchTable struct {
	list []*Benchmark
	byID map[string]*Benchmark
}

var table = sync.OnceValue(func() benchTable {
	t := benchTable{list: catalogue(), byID: map[string]*Benchmark{}}
	for _, b := range t.list {
		if _, dup := t.byID[b.ID]; dup {
			panic("perf: duplicate benchmark " + b.ID)
		}
		t.byID[b.ID] = b
	}
	return t
})

// MatchID reports whether the glob pattern (path.Match syntax) matches
// the benchmark ID id or one of its leading parts: "vmsplice/*" and
// "vmsplice/pipe-devnull" both match vmsplice/pipe-devnull/64KiB.
func MatchID(pattern, id string) bool {
	for p := id; ; {
		if ok, _ := path.Match(pattern, p); ok {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// Select returns the benchmarks that level runs and that match one of the
// patterns (see MatchID); all of the level's when no pattern is given.
func Select(level Level, patterns ...string) ([]*Benchmark, error) {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("benchmark pattern %q: %w", p, err)
		}
	}
	var out []*Benchmark
	used := make([]bool, len(patterns))
	for _, b := range Catalogue() {
		if b.level > level.rank {
			continue
		}
		if len(patterns) == 0 {
			out = append(out, b)
			continue
		}
		for i, p := range patterns {
			if MatchID(p, b.ID) {
				out = append(out, b)
				used[i] = true
				break
			}
		}
	}
	for i, p := range patterns {
		if !used[i] {
			return nil, fmt.Errorf("benchmark pattern %q matches none of the %s level's benchmarks (patchtest perf list shows them)", p, level.Name)
		}
	}
	return out, nil
}

// Lookup returns the benchmark with id.
func Lookup(id string) (*Benchmark, bool) {
	b, ok := table().byID[id]
	return b, ok
}

// Request asks the guest for samples of one benchmark, taken in a row by
// one worker process.
type Request struct {
	ID       string        `json:"id"`
	Duration time.Duration `json:"duration_ns"`
	// Count is the number of samples; 0 means 1.
	Count int `json:"count,omitempty"`
}

// Samples returns the number of samples the request asks for.
func (r Request) Samples() int { return max(r.Count, 1) }

// Sample is one measurement of one benchmark, as the worker took it
// (the run model's; see package runs).
type Sample = runs.Sample

// sizeName renders a byte count as the ID's size part: 4KiB, 1MiB.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
