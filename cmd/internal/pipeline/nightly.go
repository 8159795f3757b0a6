package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/vm"
)

// NightlyOptions say which tree to follow.
type NightlyOptions struct {
	// Repo is the git repository, Branch the branch to follow (its
	// checked-out HEAD when empty).
	Repo, Branch string
	// Reference is a pinned kernel (a bzImage or a KernelSpec source) to
	// compare against as well: what every case should show. Without one,
	// the first night's outcomes are the reference.
	Reference results.KernelSpec
	// Runs is how often a changed case is run again before it is
	// called (all must agree, else it is flaky); 3 when 0.
	Runs int
	// Run holds the rest: configuration, boot template, cache, output.
	Run Options
}

// Nightly runs one night: it updates the tree (git fetch when the branch
// has a remote), builds the branch's head with the run's configuration,
// runs the catalogue (and with a perf level, the benchmarks) against the
// reference kernel, or else against last night's kernel of the same
// tree, branch and configuration (the first night against itself),
// re-runs every case that changed since last night Runs times, and writes
// the morning report into the record: what is new since last night (with
// the commit window), what is still present (first seen when, in which
// window), what was fixed, what is flaky. Everything goes to the results
// index, from which the next night reads.
func Nightly(ctx context.Context, o NightlyOptions) (*results.Record, error) {
	if o.Runs <= 0 {
		o.Runs = 3
	}
	repo, err := filepath.Abs(o.Repo)
	if err != nil {
		return nil, err
	}
	progress := func(s string) {
		if o.Run.Events != nil {
			o.Run.Events(results.Event{Kind: results.EventNotice, Msg: s})
		}
	}
	branch := o.Branch
	if branch == "" {
		if branch, err = gitOut(ctx, repo, "rev-parse", "--abbrev-ref", "HEAD"); err != nil {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: "nightly: " + repo + " is not a git repository", Err: err}
		}
	}
	if up, err := gitOut(ctx, repo, "rev-parse", "--abbrev-ref", branch+"@{upstream}"); err == nil && up != "" {
		rem := strings.SplitN(up, "/", 2)[0]
		progress(fmt.Sprintf("git fetch %s (the upstream of %s is %s)", rem, branch, up))
		if out, err := gitOut(ctx, repo, "fetch", "--quiet", rem); err != nil {
			return nil, fmt.Errorf("nightly: git fetch %s: %v: %s", rem, err, out)
		}
		branch = up
	}
	commit, err := revParse(ctx, repo, branch)
	if err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "nightly: branch " + branch, Err: err}
	}
	cfg := configID(o.Run.Candidate)
	x, err := results.OpenIndex(o.Run.OutDir)
	if err != nil {
		return nil, err
	}
	nights, flaky, err := x.Nights(ctx, repo, branch, cfg)
	x.Close()
	if err != nil {
		return nil, err
	}
	head := results.KernelSpec{Source: "git:" + repo + "@" + commit, Base: o.Run.Candidate.Base, Fragments: o.Run.Candidate.Fragments}
	night := &results.Night{Tree: repo, Branch: branch, Config: cfg, Commit: commit}
	ro := o.Run
	ro.Candidate, ro.Expect, ro.SameTree, ro.PerPatch = head, "", false, false
	switch {
	case o.Reference.Path != "" || o.Reference.Source != "":
		ro.Baseline = o.Reference
	case len(nights) > 0:
		last := nights[len(nights)-1]
		night.Previous = last.Commit
		ro.Baseline = results.KernelSpec{Source: "git:" + repo + "@" + last.Commit, Base: head.Base, Fragments: head.Fragments}
	default:
		ro.Baseline = head
	}
	progress(fmt.Sprintf("nightly: %s %s at %s against %s", repo, branch, short(commit), ro.Baseline.Describe()))
	outDir := ro.OutDir
	ro.OutDir = "" // written below, with the morning report
	rec, err := Execute(ctx, ro)
	if err != nil {
		return rec, err
	}
	tonight := results.NightOutcomes{RunID: rec.ID, Started: rec.Started, Commit: commit, Outcomes: map[string]string{}}
	for _, res := range rec.Candidate.Run.Results {
		tonight.Outcomes[res.ID] = results.CaseOutcome(res)
	}
	// Re-run what changed since last night before calling it.
	if len(nights) > 0 {
		last := nights[len(nights)-1]
		var changed []string
		for id, out := range tonight.Outcomes {
			if prev, ok := last.Outcomes[id]; ok && prev != out {
				changed = append(changed, id)
			}
		}
		sort.Strings(changed)
		differ := rerun(ctx, ro, rec, changed, tonight.Outcomes, o.Runs-1)
		for _, id := range changed {
			why := ""
			if seen, ok := differ[id]; ok {
				why = fmt.Sprintf("%s tonight, then %s", tonight.Outcomes[id], seen)
			} else if area := suites.Area(id); len(area) > 0 {
				// A change with no commit in the case's area since last
				// night is not the code's.
				if _, err := gitOut(ctx, repo, append([]string{"diff", "--quiet", last.Commit, commit, "--"}, area...)...); err == nil {
					why = fmt.Sprintf("changed from %s to %s with no commit in %s since last night", last.Outcomes[id], tonight.Outcomes[id], strings.Join(area, " "))
				}
			}
			if why != "" {
				night.Flaky = append(night.Flaky, id)
				flaky[id] = true
				progress(fmt.Sprintf("nightly: %s is flaky: %s", id, why))
			}
		}
	}
	var ref map[string]string
	if o.Reference.Path != "" || o.Reference.Source != "" {
		ref = map[string]string{}
		for _, res := range rec.Baseline.Run.Results {
			ref[res.ID] = results.CaseOutcome(res)
		}
	}
	night.Morning = results.BuildMorning(nights, tonight, ref, flaky)
	if rec.Perf != nil && outDir != "" {
		if x, err := results.OpenIndex(outDir); err == nil {
			night.Trend, _ = x.NightTrend(ctx, repo, branch, cfg)
			x.Close()
		}
		night.Trend = append(night.Trend, results.TrendOf(rec.ID, commit, rec.Perf)...)
	}
	rec.Night = night
	if outDir != "" {
		if err := rec.Write(outDir); err != nil {
			return rec, err
		}
		if err := indexRun(context.WithoutCancel(ctx), outDir, rec); err != nil {
			return rec, fmt.Errorf("nightly: results index not updated: %w", err)
		}
	}
	return rec, nil
}

// rerun runs the cases ids n more times on the record's candidate kernel
// (all of them in one guest per round) and returns those whose outcome
// differed from want at least once, with the first other outcome.
func rerun(ctx context.Context, o Options, rec *results.Record, ids []string, want map[string]string, n int) map[string]string {
	differ := map[string]string{}
	if len(ids) == 0 {
		return differ
	}
	boot := o.Boot
	boot.Kernel = rec.Candidate.BzImage
	for range n {
		run, err := remote.RunSuites(ctx, remote.Options{Boot: boot, Patterns: ids})
		got := map[string]string{}
		if err == nil && run != nil {
			for _, res := range run.Results {
				got[res.ID] = results.CaseOutcome(res)
			}
		}
		for _, id := range ids {
			if _, seen := differ[id]; seen {
				continue
			}
			if g, ok := got[id]; !ok {
				differ[id] = fmt.Sprintf("no result (%v)", err)
			} else if g != want[id] {
				differ[id] = g
			}
		}
	}
	return differ
}

// configID names a kernel configuration: its base, fragments and a hash
// of the guest fragment's content, so that nights built differently are
// not compared.
func configID(k results.KernelSpec) string {
	base := k.Base
	if base == "" {
		base = "tinyconfig"
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%d\n", base, strings.Join(k.Fragments, "\n"), len(suites.Catalogue().Cases()))
	return base + "+" + strings.Join(append([]string{"guest"}, k.Fragments...), "+") + "@" + hex.EncodeToString(h.Sum(nil))[:8]
}
