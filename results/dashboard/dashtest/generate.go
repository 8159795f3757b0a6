// Package dashtest generates results directories for the dashboard's
// tests and benchmarks: nights of several trees as the nightly job
// writes them (each night's morning report made by results.BuildMorning
// from the outcomes of the nights before it), a per-patch run, and perf
// trends with change points.
package dashtest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// HostileSubject is the commit subject of every tree's last night and of
// a patch of the per-patch run: markup that must render as text.
const HostileSubject = `mm: <script>alert(1)</script><img src=x onerror="alert(2)"> & "quotes"`

// Spec says what to generate.
type Spec struct {
	// Trees and Nights: how many trees, and nights of each.
	Trees, Nights int
	// Cases per night, taken from the catalogue in order (all when 0).
	Cases int
	// Benchmarks measured each night (the first of the perf
	// catalogue), with their primary metric.
	Benchmarks int
	// Files writes every report format of each run (Record.Write), as a
	// real run does; else run.json alone (for a big index, fast).
	Files bool
}

// Generated says what a results directory holds, for the checks.
type Generated struct {
	Dir string
	// Trees are the trees' paths; each followed on Branch with Config.
	Trees          []string
	Branch, Config string
	// Changed is the case that changes on every tree on night
	// ChangedAt (counted from 0) and is fixed on night FixedAt.
	Changed            string
	ChangedAt, FixedAt int
	// Flaky is the case called flaky on night FlakyAt of tree 0.
	Flaky   string
	FlakyAt int
	// Bench is the benchmark whose primary metric Metric steps up on
	// tree 0 on night StepAt (a change point, a regression).
	Bench, Metric string
	StepAt        int
	// PerPatch is the per-patch run's ID.
	PerPatch string
	// Runs counts every run written.
	Runs int
}

// Generate writes the runs of s into a new results directory dir and
// indexes them.
func Generate(ctx context.Context, dir string, s Spec) (*Generated, error) {
	cases := suites.Catalogue().Cases()
	if s.Cases > 0 && s.Cases < len(cases) {
		cases = cases[:s.Cases]
	}
	if len(cases) < 3 || s.Nights < 4 {
		return nil, fmt.Errorf("dashtest: want 3 cases and 4 nights at least")
	}
	var benches []*perf.Benchmark
	for _, b := range perf.Catalogue() {
		if len(benches) < s.Benchmarks {
			benches = append(benches, b)
		}
	}
	g := &Generated{Dir: dir, Branch: "master", Config: "tinyconfig+guest",
		Changed: cases[1].ID, ChangedAt: s.Nights / 3, FixedAt: 2 * s.Nights / 3,
		Flaky: cases[2].ID, FlakyAt: s.Nights/2 + 1, StepAt: s.Nights / 2}
	if len(benches) > 0 {
		g.Bench, g.Metric = benches[0].ID, benches[0].Metrics[0]
	}
	x, err := results.OpenIndex(dir)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	for t := range s.Trees {
		tree := fmt.Sprintf("/srv/trees/linux-%d", t)
		g.Trees = append(g.Trees, tree)
		var nights []results.NightOutcomes
		flaky := map[string]bool{}
		prev := ""
		for n := range s.Nights {
			commit := sha(tree, n)
			subject := fmt.Sprintf("splice: change %d of %s", n, filepath.Base(tree))
			if n == s.Nights-1 {
				subject = HostileSubject
			}
			out := map[string]string{}
			var res []suites.CaseResult
			for _, c := range cases {
				v := "0"
				if c.ID == g.Changed && n >= g.ChangedAt && n < g.FixedAt {
					v = "-22"
				}
				r := suites.CaseResult{ID: c.ID, Obs: &suites.Observation{Type: "ret", Value: v}}
				res = append(res, r)
				out[c.ID] = results.CaseOutcome(r)
			}
			rec := &results.Record{Schema: results.SchemaVersion, ID: fmt.Sprintf("%s-t%d", start.Add(time.Duration(n)*24*time.Hour+time.Duration(t)*time.Minute).Format("20060102T150405Z"), t)}
			rec.Started = start.Add(time.Duration(n)*24*time.Hour + time.Duration(t)*time.Minute)
			rec.Finished = rec.Started.Add(20 * time.Minute)
			rec.Host = "dashtest"
			rec.Candidate = side(runs.Candidate, tree, commit, res)
			base := res
			if len(nights) > 0 {
				base = toResults(nights[len(nights)-1].Outcomes, cases)
			}
			rec.Baseline = side(runs.Baseline, tree, prev, base)
			rec.Changes = results.Diff(base, res)
			night := &results.Night{Tree: tree, Branch: g.Branch, Config: g.Config, Commit: commit, Subject: subject, Previous: prev}
			var reruns []results.Rerun
			if t == 0 && n == g.FlakyAt {
				flaky[g.Flaky] = true
				night.Flaky = []string{g.Flaky}
				reruns = append(reruns, results.Rerun{ID: g.Flaky, Outcomes: []string{"ret:0", "ret:-11", "ret:0"}, Verdict: results.RerunFlaky, Why: "runs disagree: ret:0, ret:-11, ret:0"})
			}
			night.Reruns = reruns
			tonight := results.NightOutcomes{RunID: rec.ID, Started: rec.Started, Commit: commit, Outcomes: out}
			night.Morning = results.BuildMorning(nights, tonight, nil, flaky, reruns)
			if len(benches) > 0 {
				rec.Perf = perfOf(benches, t, n, g.StepAt)
				night.Trend = results.TrendOf(rec.ID, commit, rec.Perf)
			}
			rec.Night = night
			if err := write(ctx, x, dir, rec, s.Files); err != nil {
				return nil, err
			}
			g.Runs++
			nights = append(nights, tonight)
			prev = commit
		}
	}
	pp, err := perPatch(start.Add(time.Duration(s.Nights)*24*time.Hour), cases)
	if err != nil {
		return nil, err
	}
	if err := write(ctx, x, dir, pp, s.Files); err != nil {
		return nil, err
	}
	g.PerPatch = pp.ID
	g.Runs++
	return g, nil
}

func sha(tree string, n int) string {
	h := sha1.Sum(fmt.Appendf(nil, "%s %d", tree, n))
	return hex.EncodeToString(h[:])
}

func side(role, tree, commit string, res []suites.CaseResult) results.KernelResult {
	k := results.KernelResult{Role: role, Spec: runs.KernelSpec{Source: "git:" + tree + "@" + commit},
		Run: &runs.Suite{Release: "6.12.118", Results: res}}
	if commit != "" {
		k.Build = &runs.Build{Source: "git:" + tree + "@" + commit[:12], Base: "tinyconfig", Fragments: []string{"guest"}, Git: &runs.GitIdentity{Commit: commit, Branch: "master"}}
	}
	return k
}

func toResults(out map[string]string, cases []*suites.Case) []suites.CaseResult {
	var res []suites.CaseResult
	for _, c := range cases {
		var typ, v string
		fmt.Sscanf(out[c.ID], "%3s:%s", &typ, &v)
		res = append(res, suites.CaseResult{ID: c.ID, Obs: &suites.Observation{Type: suites.Type(typ), Value: v}})
	}
	return res
}

// perfOf is a night's comparison with the night before: each benchmark's
// primary metric wobbles by under 0.5 %, and the first one's steps up by
// 8 % on tree 0 on night step (a regression there, the night after
// compares equal again).
func perfOf(benches []*perf.Benchmark, t, n, step int) *results.PerfResult {
	p := &results.PerfResult{Run: &runs.Perf{Level: runs.PerfLevel{Name: "quick"}}, FailPct: 1.5}
	for i, b := range benches {
		level := func(n int) float64 {
			v := 1e9 * float64(i+1) * (1 + 0.004*math.Sin(float64(n*7+i)))
			if i == 0 && t == 0 && n >= step {
				v *= 1.08
			}
			return v
		}
		m := b.Metrics[0]
		c := results.PerfChange{Bench: b.ID, Metric: m, Base: dist(level(n - 1)), New: dist(level(n)), P: 0.4, Verdict: results.PerfSame}
		c.ChangePct = 100 * (c.New.Median/c.Base.Median - 1)
		if i == 0 && t == 0 && n == step {
			c.P, c.Verdict = 0.001, results.PerfRegression
			if perf.HigherIsBetter(m) {
				c.Verdict = results.PerfImprovement
			}
		}
		p.Run.Benchmarks = append(p.Run.Benchmarks, b.ID)
		p.Changes = append(p.Changes, c)
	}
	return p
}

func dist(v float64) results.Dist {
	return results.Dist{N: 5, Median: v, Lo: v * 0.99, Hi: v * 1.01, Mean: v, StddevPct: 0.5}
}

// perPatch is a run of a two-patch series patch by patch: the second
// patch (subject HostileSubject) changes the first case.
func perPatch(at time.Time, cases []*suites.Case) (*results.Record, error) {
	base := toResults(map[string]string{}, cases)
	for i := range base {
		base[i].Obs = &suites.Observation{Type: "ret", Value: "0"}
	}
	after := append([]suites.CaseResult(nil), base...)
	after[0] = suites.CaseResult{ID: cases[0].ID, Obs: &suites.Observation{Type: "ret", Value: "-9"}}
	rec := &results.Record{Schema: results.SchemaVersion, ID: at.Format("20060102T150405Z") + "-series", Started: at, Finished: at.Add(time.Hour), Host: "dashtest"}
	rec.Baseline = results.KernelResult{Role: runs.Baseline, Spec: runs.KernelSpec{Source: "debian:6.12"}, Run: &runs.Suite{Release: "6.12.118", Results: base}}
	rec.Candidate = results.KernelResult{Role: runs.Candidate, Spec: runs.KernelSpec{Source: "debian:6.12", Patches: "series"}, Run: &runs.Suite{Release: "6.12.118", Results: after}}
	rec.Changes = results.Diff(base, after)
	rec.PerPatch = &results.PerPatch{Columns: []results.PatchColumn{
		{Index: 1, Total: 2, Name: "0001-docs.patch", Subject: "[PATCH 1/2] docs: splice", Status: results.PatchOK, Run: &runs.Suite{Results: base}},
		{Index: 2, Total: 2, Name: "0002-mm.patch", Subject: "[PATCH 2/2] " + HostileSubject, Status: results.PatchOK, Run: &runs.Suite{Results: after}},
	}}
	rec.PerPatch.BuildMatrix(base)
	return rec, nil
}

func write(ctx context.Context, x *results.Index, dir string, rec *results.Record, files bool) error {
	if files {
		if err := rec.Write(dir); err != nil {
			return err
		}
	} else {
		rec.Dir = filepath.Join(dir, rec.ID)
		if err := os.MkdirAll(rec.Dir, 0o755); err != nil {
			return err
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(rec.Dir, "run.json"), b, 0o644); err != nil {
			return err
		}
	}
	return x.Add(ctx, rec)
}
