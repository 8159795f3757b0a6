package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/vm"
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
