package results

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"sort"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// Shard is the manifest of one shard of a run split over machines
// (--shard I/N): which part it is and what it ran against, so that
// merging can refuse shards of different runs.
type Shard struct {
	Index int `json:"index"` // 1..Count
	Count int `json:"count"`
	// Catalogue identifies the catalogue the cases were split from.
	Catalogue string `json:"catalogue"`
	// Kernels identify the baseline's and the candidate's kernel.
	Kernels []string `json:"kernels"`
	// Patterns and Benchmarks are the run's selections before the split.
	Patterns   []string `json:"patterns,omitempty"`
	Benchmarks []string `json:"benchmarks,omitempty"`
	PerfLevel  string   `json:"perf_level,omitempty"`
}

// ParseShard parses I/N (1 <= I <= N).
func ParseShard(s string) (index, count int, err error) {
	if _, err := fmt.Sscanf(s, "%d/%d", &index, &count); err != nil || count < 1 || index < 1 || index > count || fmt.Sprintf("%d/%d", index, count) != s {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 1 <= I <= N, such as 2/3", s)
	}
	return index, count, nil
}

// ShardOf returns the shard (1..count) that id belongs to: a stable hash
// of the ID, so that a case or benchmark lands in the same shard on every
// machine and every night, whatever else the catalogue holds.
func ShardOf(id string, count int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32()%uint32(count)) + 1
}

// CatalogueID identifies the case catalogue and the benchmarks by their
// IDs and descriptions.
func CatalogueID() string {
	h := sha256.New()
	for _, c := range suites.Catalogue().Cases() {
		fmt.Fprintf(h, "%s\t%s\n", c.ID, c.Desc)
	}
	for _, b := range perf.Catalogue() {
		fmt.Fprintf(h, "%s\t%s\n", b.ID, b.Desc)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// KernelID identifies a side's kernel: its build key, else the image's
// hash.
func KernelID(k *KernelResult) string {
	if k.Build != nil && k.Build.Key != "" {
		return "build:" + k.Build.Key
	}
	b, err := os.ReadFile(k.BzImage)
	if err != nil {
		return "image:" + k.BzImage
	}
	sum := sha256.Sum256(b)
	return "image:" + hex.EncodeToString(sum[:])[:24]
}

// MergeShards joins the records of a run's shards into one record: every
// shard must come from the same catalogue, kernels, selection and shard
// count, each index at most once; the cases of a missing shard are not
// run ("MISS" in KCIDB) with the reason. The merged record's changes,
// verdict (against the shards' expect.yaml) and perf comparison are
// computed afresh; headline names a kernel log (console.Headline).
func MergeShards(recs []*Record, headline func(lines []string) string) (*Record, error) {
	if len(recs) == 0 {
		return nil, errors.New("merge: no shard runs given")
	}
	first := recs[0]
	if first.Shard == nil {
		return nil, fmt.Errorf("merge: %s is not a shard (no --shard I/N)", first.Dir)
	}
	f := first.Shard
	seen := map[int]string{}
	for _, r := range recs {
		s := r.Shard
		switch {
		case s == nil:
			return nil, fmt.Errorf("merge: %s is not a shard (no --shard I/N)", r.Dir)
		case s.Count != f.Count:
			return nil, fmt.Errorf("merge: %s is shard %d/%d, %s is %d/%d: not one split", r.Dir, s.Index, s.Count, first.Dir, f.Index, f.Count)
		case s.Catalogue != f.Catalogue:
			return nil, fmt.Errorf("merge: %s ran catalogue %s, %s catalogue %s: shards of different patchtest versions", r.Dir, s.Catalogue, first.Dir, f.Catalogue)
		case !slices.Equal(s.Kernels, f.Kernels):
			return nil, fmt.Errorf("merge: %s ran kernels %v, %s kernels %v: shards of different runs", r.Dir, s.Kernels, first.Dir, f.Kernels)
		case !slices.Equal(s.Patterns, f.Patterns) || !slices.Equal(s.Benchmarks, f.Benchmarks) || s.PerfLevel != f.PerfLevel:
			return nil, fmt.Errorf("merge: %s and %s selected different cases or benchmarks", r.Dir, first.Dir)
		case seen[s.Index] != "":
			return nil, fmt.Errorf("merge: shard %d/%d given twice (%s and %s)", s.Index, s.Count, seen[s.Index], r.Dir)
		}
		seen[s.Index] = r.Dir
	}
	out := NewRecord(first.Expect)
	out.Started, out.Finished = first.Started, first.Finished
	out.Baseline, out.Candidate = first.Baseline, first.Candidate
	out.Mismatch, out.TreeBase, out.Dashboard = first.Mismatch, first.TreeBase, first.Dashboard
	cases, err := suites.Catalogue().Select(f.Patterns...)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	var planned []string
	for _, c := range cases {
		planned = append(planned, c.ID)
	}
	notRun := func(id string) string {
		if seen[ShardOf(id, f.Count)] != "" {
			return fmt.Sprintf("shard %d/%d did not run it", ShardOf(id, f.Count), f.Count)
		}
		return fmt.Sprintf("shard %d/%d is missing", ShardOf(id, f.Count), f.Count)
	}
	for _, r := range recs {
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		if r.Finished.After(out.Finished) {
			out.Finished = r.Finished
		}
	}
	for _, side := range []*KernelResult{&out.Baseline, &out.Candidate} {
		var parts []*runs.Suite
		for _, r := range recs {
			if side.Role == runs.Candidate {
				parts = append(parts, r.Candidate.Run)
			} else {
				parts = append(parts, r.Baseline.Run)
			}
		}
		run, err := MergeSuiteRuns(planned, parts, notRun)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		side.Run, side.Summary = run, Summarize(run, headline)
	}
	out.Perf = mergePerf(recs)
	out.Fuzz = mergeFuzz(recs)
	var x *Expect
	if out.Expect != "" {
		// The shards checked it when they ran; one that cannot be read
		// now leaves the merged run without a verdict, as a run with no
		// expect.yaml.
		x, _ = LoadExpect(out.Expect)
	}
	out.Finish(x)
	var missing []string
	for i := 1; i <= f.Count; i++ {
		if seen[i] == "" {
			missing = append(missing, fmt.Sprintf("%d/%d", i, f.Count))
		}
	}
	// A shard missing or cut short is the harness's (or the user's)
	// failure, never the kernel's: its cases are not run, with the reason,
	// and the run is incomplete.
	out.Incomplete = len(missing) > 0 || slices.ContainsFunc(recs, func(r *Record) bool { return r.Incomplete })
	return out, nil
}

// mergeFuzz joins the shards' fuzzing runs (each shard fuzzes with a
// seed of its own): the programs and flaky ones added up, the
// differences joined by ID, a kernel lost under a program kept (the
// candidate's first), coverage the widest one shard reached. None when
// no shard fuzzed.
func mergeFuzz(recs []*Record) *runs.Fuzz {
	var out *runs.Fuzz
	seen := map[string]bool{}
	for _, r := range recs {
		f := r.Fuzz
		if f == nil {
			continue
		}
		if out == nil {
			out = &runs.Fuzz{Seed: f.Seed, Budget: f.Budget, CorpusFile: f.CorpusFile, Coverage: f.Coverage}
		}
		out.Budget, out.Wall = max(out.Budget, f.Budget), max(out.Wall, f.Wall)
		out.Programs += f.Programs
		out.PerSecond += f.PerSecond // the shards ran at once
		out.Flaky += f.Flaky
		out.Corpus = max(out.Corpus, f.Corpus)
		if f.Signatures > out.Signatures || f.Edges > out.Edges {
			out.Signatures, out.Edges, out.Coverage = f.Signatures, f.Edges, f.Coverage
		}
		for _, d := range f.Differences {
			if !seen[d.ID] {
				seen[d.ID] = true
				out.Differences = append(out.Differences, d)
			}
		}
		if f.Fault != nil && (out.Fault == nil || out.Fault.Side != runs.Candidate && f.Fault.Side == runs.Candidate) {
			out.Fault = f.Fault
		}
	}
	return out
}

// mergePerf joins the shards' perf samples (each benchmark ran, both
// kernels, in one shard); Finish compares them again.
func mergePerf(recs []*Record) *PerfResult {
	var res *PerfResult
	for _, r := range recs {
		p := r.Perf
		if p == nil || p.Run == nil {
			continue
		}
		if res == nil {
			run := *p.Run
			run.Samples, run.Benchmarks = nil, nil
			res = &PerfResult{Run: &run, Stats: p.Stats, FailPct: p.FailPct, Null: p.Null}
		}
		res.Run.Benchmarks = append(res.Run.Benchmarks, p.Run.Benchmarks...)
		res.Run.Samples = append(res.Run.Samples, p.Run.Samples...)
		res.Run.Wall = max(res.Run.Wall, p.Run.Wall)
		res.CandidateFault = res.CandidateFault || p.CandidateFault
		res.BaselineFault = res.BaselineFault || p.BaselineFault
		if p.Error != "" {
			res.Error = p.Error
		}
	}
	if res == nil {
		return nil
	}
	order := map[string]int{}
	for i, b := range perf.Catalogue() {
		order[b.ID] = i
	}
	sort.SliceStable(res.Run.Benchmarks, func(i, j int) bool { return order[res.Run.Benchmarks[i]] < order[res.Run.Benchmarks[j]] })
	return res
}
