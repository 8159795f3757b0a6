package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
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
	Reference configs.KernelSpec
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
	head := configs.KernelSpec{Source: "git:" + repo + "@" + commit, Base: o.Run.Candidate.Base, Fragments: o.Run.Candidate.Fragments}
	subject, _ := gitOut(ctx, repo, "log", "-1", "--format=%s", commit)
	night := &results.Night{Tree: repo, Branch: branch, Config: cfg, Commit: commit, Subject: subject}
	ro := o.Run
	ro.Candidate, ro.Expect, ro.SameTree, ro.PerPatch = head, "", false, false
	switch {
	case o.Reference.Path != "" || o.Reference.Source != "":
		ro.Baseline = o.Reference
	case len(nights) > 0:
		last := nights[len(nights)-1]
		night.Previous = last.Commit
		ro.Baseline = configs.KernelSpec{Source: "git:" + repo + "@" + last.Commit, Base: head.Base, Fragments: head.Fragments}
	default:
		ro.Baseline = head
	}
	progress(fmt.Sprintf("nightly: %s %s at %s against %s", repo, branch, short(commit), ro.Baseline.Describe()))
	outDir := ro.OutDir
	ro.OutDir = "" // written below, with the morning report
	rec, res, err := execute(ctx, ro)
	if err != nil {
		// The night could not be run: what was done is written as a run
		// of its own, kept out of the nights the next one compares with.
		if rec != nil && outDir != "" {
			keep(context.WithoutCancel(ctx), outDir, rec)
		}
		return rec, err
	}
	tonight := results.NightOutcomes{RunID: rec.ID, Started: rec.Started, Commit: commit, Outcomes: map[string]string{}}
	for _, r := range rec.Candidate.Run.Results {
		tonight.Outcomes[r.ID] = results.CaseOutcome(r)
	}
	// Re-run what changed since last night before calling it, with the
	// inputs tonight's run resolved.
	if len(nights) > 0 {
		last := nights[len(nights)-1]
		var changed []string
		for id, out := range tonight.Outcomes {
			if prev, ok := last.Outcomes[id]; ok && prev != out && hasOutcome(out) {
				changed = append(changed, id)
			}
		}
		sort.Strings(changed)
		reruns, rerr := rerun(ctx, rerunCandidate(res, progress), changed, tonight.Outcomes, o.Runs-1, progress)
		if rerr != nil {
			night.RerunError = firstLine(rerr.Error())
			progress("nightly: the re-runs could not run: " + night.RerunError + "; tonight's changes are reported as found, not confirmed")
		}
		for i, r := range reruns {
			if r.Verdict != results.RerunFlaky {
				if area, quiet := quietArea(ctx, repo, last.Commit, commit, r.ID); quiet {
					r.Verdict, r.Why = results.RerunFlaky, fmt.Sprintf("changed from %s to %s with no commit in %s since last night", last.Outcomes[r.ID], tonight.Outcomes[r.ID], strings.Join(area, " "))
					reruns[i] = r
				}
			}
			if r.Verdict == results.RerunFlaky {
				night.Flaky = append(night.Flaky, r.ID)
				flaky[r.ID] = true
				progress(fmt.Sprintf("nightly: %s is flaky: %s", r.ID, r.Why))
			}
		}
		night.Reruns = reruns
	}
	var ref map[string]string
	if o.Reference.Path != "" || o.Reference.Source != "" {
		ref = map[string]string{}
		for _, res := range rec.Baseline.Run.Results {
			ref[res.ID] = results.CaseOutcome(res)
		}
	}
	night.Morning = results.BuildMorning(nights, tonight, ref, flaky, night.Reruns)
	if rec.Perf != nil && outDir != "" {
		if x, err := results.OpenIndex(outDir); err == nil {
			night.Trend, _ = x.NightTrend(ctx, repo, branch, cfg)
			x.Close()
		}
		night.Trend = append(night.Trend, results.TrendOf(rec.ID, commit, rec.Perf)...)
	}
	rec.Night = night
	if outDir != "" {
		if err := keep(context.WithoutCancel(ctx), outDir, rec); err != nil {
			return rec, fmt.Errorf("nightly: %w", err)
		}
	}
	return rec, nil
}

// quietArea reports whether no commit from..to in repo touches the
// kernel source the case id exercises (suites.Area): a change of its
// outcome then is not the code's. It returns the area; a case with none
// on record, or a diff git cannot make, is never quiet.
func quietArea(ctx context.Context, repo, from, to, id string) ([]string, bool) {
	area := suites.Area(id)
	if len(area) == 0 {
		return nil, false
	}
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo, "diff", "--quiet", from, to, "--"}, area...)...)
	return area, cmd.Run() == nil
}

// hasOutcome reports whether out is something the kernel did: not a
// case that was not run or whose result never came.
func hasOutcome(out string) bool { return out != "not run" && out != "missing" }

// runOnce runs the cases (catalogue IDs) once on a kernel and returns
// what they gave; the error is the harness's.
type runOnce func(ctx context.Context, cases []string) (*runs.Suite, error)

// rerunCandidate runs cases again on the candidate kernel of the run res
// resolved: its kernel, modules, guest binary and boot options, all the
// cases in one guest.
func rerunCandidate(res *resolved, progress func(string)) runOnce {
	notices := func(e results.Event) {
		if e.Kind == results.EventNotice || e.Kind == results.EventCrash || e.Kind == results.EventProblem {
			progress("nightly re-run: " + e.Msg)
		}
	}
	return func(ctx context.Context, cases []string) (*runs.Suite, error) {
		if res == nil || len(res.boots) < 2 || res.boots[1].Kernel == "" {
			return nil, errors.New("tonight's run did not bring the candidate kernel up")
		}
		o := res.o
		o.Patterns = cases
		side := &results.KernelResult{Role: runs.Candidate}
		err := runSide(ctx, o, side, res.boots[1], 1, notices)
		return side.Run, err
	}
}

// rerun runs the cases ids n more times with run (a peer subtest through
// its case) and judges each against want: flaky when a re-run produced
// another outcome, not confirmed when one could not run. The error is
// the harness's that stopped the re-runs; what they saw until then is
// judged.
func rerun(ctx context.Context, run runOnce, ids []string, want map[string]string, n int, progress func(string)) ([]results.Rerun, error) {
	if len(ids) == 0 || n <= 0 {
		return nil, nil
	}
	outcomes := map[string][]string{}
	couldNot := map[string]string{}
	for _, id := range ids {
		outcomes[id] = []string{want[id]}
	}
	cases := caseIDs(ids)
	var harness error
	for round := range n {
		progress(fmt.Sprintf("nightly: re-run %d of %d: %d cases that changed since last night", round+1, n, len(cases)))
		sr, err := run(ctx, cases)
		got := map[string]suites.CaseResult{}
		if sr != nil {
			for _, r := range sr.Results {
				got[r.ID] = r
			}
		}
		for _, id := range ids {
			r, ok := got[id]
			switch out := results.CaseOutcome(r); {
			case ok && hasOutcome(out):
				outcomes[id] = append(outcomes[id], out)
			case err != nil:
				couldNot[id] = firstLine(err.Error())
			case ok && r.NotRun != "":
				couldNot[id] = "not run: " + r.NotRun
			default:
				couldNot[id] = "no result"
			}
		}
		if err != nil {
			harness = err
			break // the harness failed: another round would too
		}
	}
	return judge(ids, outcomes, couldNot, n, harness), harness
}

// judge calls each case from the outcomes its runs produced (tonight's
// and up to n re-runs'): one with fewer re-runs than n that agree is not
// confirmed, for the reason its re-run could not run.
func judge(ids []string, outcomes map[string][]string, couldNot map[string]string, n int, harness error) []results.Rerun {
	var out []results.Rerun
	for _, id := range ids {
		why := couldNot[id]
		if why == "" && len(outcomes[id]) < n+1 {
			why = "no result"
			if harness != nil {
				why = firstLine(harness.Error())
			}
		}
		out = append(out, results.JudgeRerun(id, outcomes[id], why))
	}
	return out
}

// caseIDs returns the catalogue cases that produce ids: each ID that is
// a case, and the peer case of each subtest.
func caseIDs(ids []string) []string {
	all := map[string]bool{}
	for _, c := range suites.Catalogue().Cases() {
		all[c.ID] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		c := id
		for !all[c] {
			i := strings.LastIndex(c, "/")
			if i <= 0 {
				break
			}
			c = c[:i]
		}
		if all[c] && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// configID names a kernel configuration: its base, fragments and a hash
// of the guest fragment's content, so that nights built differently are
// not compared.
func configID(k configs.KernelSpec) string {
	base := k.Base
	if base == "" {
		base = "tinyconfig"
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%d\n", base, strings.Join(k.Fragments, "\n"), len(suites.Catalogue().Cases()))
	return base + "+" + strings.Join(append([]string{"guest"}, k.Fragments...), "+") + "@" + hex.EncodeToString(h.Sum(nil))[:8]
}
