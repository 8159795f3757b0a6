package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/fault"
)

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
