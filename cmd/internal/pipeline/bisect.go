package pipeline

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/fault"
)

// Exit codes of a bisect step, as git bisect run reads them.
const (
	BisectGood = 0
	BisectBad  = 1
	BisectSkip = 125
)

// BisectOptions say what to bisect: the first commit of Repo between Good
// and Bad whose kernel shows Case with another outcome than Good's, or
// whose benchmark Bench regresses against Good's kernel.
type BisectOptions struct {
	Repo      string
	Good, Bad string
	Case      string
	Bench     string
	// Runs is how often a step that looks bad is run before it is
	// called bad (all must agree; a mix is skipped as flaky); 3 when 0.
	Runs int
	// Base and Fragments configure every commit's kernel.
	Base      string
	Fragments []string
	Boot      vm.BootOptions
	CacheDir  string
	// Self is the patchtest executable git bisect run calls for each
	// step (patchtest bisect step); os.Executable when empty.
	Self     string
	Progress func(string)
}

// BisectStep is one commit tested: its verdict and why.
type BisectStep struct {
	Commit  string `json:"commit"`
	Subject string `json:"subject"`
	Verdict string `json:"verdict"` // good, bad or skip
	Value   string `json:"value,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Cached  bool   `json:"cached,omitempty"`
}

// BisectResult is what a bisection found.
type BisectResult struct {
	FirstBad string `json:"first_bad"`
	Subject  string `json:"subject"`
	// GoodValue and BadValue are the observation on both sides of it.
	GoodValue string       `json:"good_value"`
	BadValue  string       `json:"bad_value"`
	Steps     []BisectStep `json:"steps"`
	// Log is git bisect's log.
	Log string `json:"log"`
}

// Builds counts the kernels the bisection needed built, cached ones
// included: one per commit tested.
func (r *BisectResult) Builds() int { return len(r.Steps) }

// bisectState is what each step reads: the question and the good end's
// answer.
type bisectState struct {
	Repo      string         `json:"repo"`
	Case      string         `json:"case,omitempty"`
	Bench     string         `json:"bench,omitempty"`
	GoodValue string         `json:"good_value,omitempty"`
	GoodImage string         `json:"good_image,omitempty"`
	Runs      int            `json:"runs"`
	Base      string         `json:"base,omitempty"`
	Fragments []string       `json:"fragments,omitempty"`
	Boot      vm.BootOptions `json:"boot"`
	CacheDir  string         `json:"cache_dir"`
	Steps     string         `json:"steps"`
}

// Bisect finds the first bad commit with git bisect run on a clone of
// Repo it owns under the cache (the user's repository is only read). The
// good end is tested first for its value; the bad end only when every
// commit between turned out good, to confirm there is a change at all.
func Bisect(ctx context.Context, o BisectOptions) (*BisectResult, error) {
	if (o.Case == "") == (o.Bench == "") {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "bisect: give --case ID or --bench ID, one of them"}
	}
	if o.Case != "" {
		if cs, err := suites.Catalogue().Select(o.Case); err != nil || len(cs) != 1 || cs[0].ID != o.Case {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("bisect: --case %s: no such case (patchtest list shows them)", o.Case)}
		}
	}
	if o.Bench != "" {
		if _, ok := perf.Lookup(o.Bench); !ok {
			return nil, &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("bisect: --bench %s: no such benchmark (patchtest perf list shows them)", o.Bench)}
		}
	}
	if o.Runs <= 0 {
		o.Runs = 3
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	repo, err := filepath.Abs(o.Repo)
	if err != nil {
		return nil, err
	}
	good, err := revParse(ctx, repo, o.Good)
	if err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "bisect: --good " + o.Good, Err: err}
	}
	bad, err := revParse(ctx, repo, o.Bad)
	if err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "bisect: --bad " + o.Bad, Err: err}
	}
	if out, err := gitOut(ctx, repo, "merge-base", "--is-ancestor", good, bad); err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("bisect: --good %s is not an ancestor of --bad %s %s", o.Good, o.Bad, out)}
	}
	sum := sha256.Sum256([]byte(repo + "\n" + good + "\n" + bad + "\n" + o.Case + o.Bench))
	dir := filepath.Join(o.CacheDir, "bisect", hex.EncodeToString(sum[:])[:16])
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	st := bisectState{Repo: repo, Case: o.Case, Bench: o.Bench, Runs: o.Runs, Base: o.Base, Fragments: o.Fragments,
		Boot: o.Boot, CacheDir: o.CacheDir, Steps: filepath.Join(dir, "steps.jsonl")}
	st.Boot.Events = nil

	// The good end: its value, or its kernel for a perf comparison.
	progress("testing the good end " + short(good))
	gs := st.test(ctx, good)
	if gs.Verdict == "skip" {
		appendStep(st.Steps, gs)
		return nil, fmt.Errorf("bisect: the good end %s cannot be tested: %s", short(good), gs.Reason)
	}
	if o.Bench != "" {
		// The good end's kernel is every later step's reference: what
		// it shows is no regression, its image is kept apart.
		st.GoodImage, gs.Value = gs.Value, "no regression (the reference every commit is measured against)"
	}
	gs.Verdict = "good"
	appendStep(st.Steps, gs)
	st.GoodValue = gs.Value
	if o.Bench != "" {
		st.GoodValue = "no regression"
	}

	clone := filepath.Join(dir, "repo")
	if out, err := exec.CommandContext(ctx, "git", "clone", "--quiet", "--no-checkout", repo, clone).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bisect: clone %s: %v: %s", repo, err, out)
	}
	statePath := filepath.Join(dir, "state.json")
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(statePath, b, 0o644); err != nil {
		return nil, err
	}
	self := o.Self
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	if out, err := gitOut(ctx, clone, "bisect", "start", bad, good); err != nil {
		return nil, fmt.Errorf("bisect: git bisect start: %v: %s", err, out)
	}
	progress(fmt.Sprintf("git bisect run %s bisect step (in %s)", self, clone))
	cmd := exec.CommandContext(ctx, "git", "bisect", "run", self, "bisect", "step", "--state", statePath)
	cmd.Dir = clone
	runOut, runErr := cmd.CombinedOutput()
	log, _ := gitOut(ctx, clone, "bisect", "log")
	gitOut(ctx, clone, "bisect", "reset", "--quiet")
	res := &BisectResult{Log: log, GoodValue: st.GoodValue}
	res.Steps, _ = readSteps(st.Steps)
	m := firstBadRe.FindSubmatch(runOut)
	if runErr != nil || m == nil {
		return res, fmt.Errorf("bisect: git bisect run found no first bad commit: %v\n%s", runErr, tail(string(runOut), 20))
	}
	res.FirstBad = string(m[1])
	res.Subject, _ = gitOut(ctx, repo, "log", "-1", "--format=%s", res.FirstBad)
	for _, s := range res.Steps {
		if s.Commit == res.FirstBad {
			res.BadValue = s.Value
		}
	}
	if res.FirstBad == bad && res.BadValue == "" {
		// Every commit between was good: is the bad end bad at all?
		progress("every commit before the bad end is good: testing the bad end " + short(bad))
		bs := st.step(ctx, bad)
		res.Steps = append(res.Steps, bs)
		if bs.Verdict != "bad" {
			return res, fmt.Errorf("bisect: the bad end %s is %s (%s%s): nothing changed between --good and --bad", short(bad), bs.Verdict, bs.Value, bs.Reason)
		}
		res.BadValue = bs.Value
	}
	return res, nil
}

var firstBadRe = regexp.MustCompile(`(?m)^([0-9a-f]{40,64}) is the first bad commit`)

// BisectStepMain is `patchtest bisect step --state FILE`, run by git
// bisect run in the clone: it tests HEAD and returns the exit code git
// reads (0 good, 1 bad, 125 skip). Whatever goes wrong in the harness is
// a skip, never an exit code git would take for bad or abort.
//
// The step runs in a child process of its own: a panic on any goroutine
// there, or a signal, exits with a code that git would read as bad (2)
// or abort on (over 127), and the parent turns every code but 0 and 1
// into a skip.
func BisectStepMain(ctx context.Context, statePath string) (code int) {
	if os.Getenv(bisectChildEnv) == "" {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "patchtest bisect step:", err)
			return BisectSkip
		}
		cmd := exec.CommandContext(ctx, self, os.Args[1:]...)
		cmd.Env = append(os.Environ(), bisectChildEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err = cmd.Run()
		return bisectCode(cmd.ProcessState, err)
	}
	return bisectStep(ctx, statePath)
}

// bisectChildEnv marks the child process that runs a bisect step.
const bisectChildEnv = "PATCHTEST_BISECT_STEP_CHILD"

// bisectCode is the exit code git bisect run gets for a step's child
// that ended as ps did: good and bad pass through, anything else
// (another code, a signal, no child at all) is a skip.
func bisectCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		fmt.Fprintln(os.Stderr, "patchtest bisect step:", err)
		return BisectSkip
	}
	switch ps.ExitCode() {
	case BisectGood, BisectBad, BisectSkip:
		return ps.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "patchtest bisect step: the step ended with %v: skipped\n", ps)
	return BisectSkip
}

func bisectStep(ctx context.Context, statePath string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "patchtest bisect step: %v\n", r)
			code = BisectSkip
		}
	}()
	b, err := os.ReadFile(statePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "patchtest bisect step:", err)
		return BisectSkip
	}
	var st bisectState
	if err := json.Unmarshal(b, &st); err != nil {
		fmt.Fprintln(os.Stderr, "patchtest bisect step:", err)
		return BisectSkip
	}
	head, err := revParse(ctx, ".", "HEAD")
	if err != nil {
		fmt.Fprintln(os.Stderr, "patchtest bisect step:", err)
		return BisectSkip
	}
	s := st.step(ctx, head)
	appendStep(st.Steps, s)
	why := ""
	if s.Reason != "" {
		why = " (" + s.Reason + ")"
	}
	fmt.Fprintf(os.Stderr, "patchtest bisect step: %s %s: %s %s%s\n", short(head), s.Subject, s.Verdict, s.Value, why)
	switch s.Verdict {
	case "good":
		return BisectGood
	case "bad":
		return BisectBad
	}
	return BisectSkip
}

// step tests commit and judges it against the good end: a case whose
// outcome differs is bad only when all of st.Runs runs agree (a mix is
// flaky, and skipped); a benchmark is bad when it regresses against the
// good end's kernel by the failing size under the instruction clock.
func (st bisectState) step(ctx context.Context, commit string) BisectStep {
	s := st.test(ctx, commit)
	if s.Verdict == "skip" {
		return s
	}
	if st.Bench != "" {
		return s // test judged it against the good kernel
	}
	if s.Value == st.GoodValue {
		s.Verdict = "good"
		return s
	}
	// Runs again with the same inputs (the state's kernel request and
	// boot options). A re-run that could not run confirms nothing and is
	// a skip for that reason, never flaky: only two outcomes that
	// disagree are.
	for i := range st.Runs - 1 {
		again := st.test(ctx, commit)
		switch {
		case again.Verdict == "skip":
			s.Verdict, s.Reason = "skip", fmt.Sprintf("not confirmed: re-run %d of %d could not run (%s); the first run gave %q", i+1, st.Runs-1, again.Reason, s.Value)
			return s
		case again.Value != s.Value:
			s.Verdict, s.Reason = "skip", fmt.Sprintf("flaky: runs disagree: %q, then %q", s.Value, again.Value)
			return s
		}
	}
	s.Verdict = "bad"
	return s
}

// test builds commit's kernel and observes it: the case's outcome, or
// for a benchmark the A/B comparison with the good end's kernel (whose
// image a good end's test returns as its value).
func (st bisectState) test(ctx context.Context, commit string) BisectStep {
	s := BisectStep{Commit: commit}
	s.Subject, _ = gitOut(ctx, st.Repo, "log", "-1", "--format=%s", commit)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Minute)
	defer cancel()
	b := &kernels.Builder{CacheDir: st.CacheDir}
	bld, err := b.Build(ctx, kernels.Request{Source: "git:" + st.Repo + "@" + commit, Base: st.Base, Fragments: st.Fragments})
	if err != nil {
		s.Verdict, s.Reason = "skip", "does not build: "+firstLine(err.Error())
		var be *kernels.BuildError
		if errors.As(err, &be) && be.Errors != "" {
			s.Reason = "does not build: " + firstLine(be.Errors)
		}
		return s
	}
	s.Cached = bld.Cached
	boot := st.Boot
	boot.Kernel = bld.BzImage
	if st.Bench != "" {
		if st.GoodImage == "" {
			s.Verdict, s.Value = "good", bld.BzImage
			return s
		}
		return st.perfStep(ctx, s, boot)
	}
	run, err := remote.RunSuites(ctx, remote.Options{Boot: boot, Patterns: []string{st.Case}})
	if err != nil || run == nil || len(run.Results) != 1 {
		s.Verdict, s.Reason = "skip", fmt.Sprintf("harness: %v", err)
		return s
	}
	if len(run.Boots) == 0 && len(run.Failures) > 0 {
		s.Verdict, s.Reason = "skip", "does not boot: "+firstLine(run.Failures[0])
		return s
	}
	if r := run.Results[0]; r.NotRun != "" {
		// No outcome: the kernel never got to the case. Not an
		// observation to compare with the good end's.
		s.Verdict, s.Reason = "skip", "not run: "+r.NotRun
		return s
	}
	s.Verdict, s.Value = "tested", results.CaseOutcome(run.Results[0])
	return s
}

// perfStep compares the benchmark on commit's kernel with the good end's,
// both counting instructions: bad on a regression the run would fail on.
func (st bisectState) perfStep(ctx context.Context, s BisectStep, boot vm.BootOptions) BisectStep {
	good := st.Boot
	good.Kernel = st.GoodImage
	run, err := remote.RunPerf(ctx, remote.PerfOptions{Baseline: good, Candidate: boot, Level: perf.Quick, Counted: perf.Quick.Counted(),
		Clock: vm.Instructions, Patterns: []string{st.Bench}})
	if err != nil {
		if fault.SideOf(err) == runs.Candidate && vm.OutcomeOf(err).KernelFault() {
			s.Verdict, s.Value = "bad", "the kernel failed under the benchmark: "+firstLine(err.Error())
			return s
		}
		s.Verdict, s.Reason = "skip", "perf: "+firstLine(err.Error())
		return s
	}
	cs := results.ComparePerf(run, results.PerfStats{})
	regs := results.PerfRegressions(cs, Options{}.failPct(true))
	s.Verdict, s.Value = "good", "no regression"
	if len(regs) > 0 {
		s.Verdict, s.Value = "bad", fmt.Sprintf("%s %+.1f%% (p=%.2g)", regs[0].Metric, regs[0].ChangePct, regs[0].P)
	}
	return s
}

func appendStep(path string, s BisectStep) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	b, _ := json.Marshal(s)
	f.Write(append(b, '\n'))
}

func readSteps(path string) ([]BisectStep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []BisectStep
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s BisectStep
		if json.Unmarshal(sc.Bytes(), &s) == nil {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

func revParse(ctx context.Context, dir, rev string) (string, error) {
	out, err := gitOut(ctx, dir, "rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("no commit %q in %s", rev, dir)
	}
	return out, nil
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// short abbreviates a commit to 12 hex digits.
func short(c string) string { return c[:min(12, len(c))] }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
