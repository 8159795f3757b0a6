package pipeline

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

// fakeRuns plays one SuiteRun (or error) per round of re-runs and
// records which cases each round asked for.
type fakeRuns struct {
	rounds []func() (*runs.Suite, error)
	asked  [][]string
}

func (f *fakeRuns) run(_ context.Context, cases []string) (*runs.Suite, error) {
	f.asked = append(f.asked, cases)
	return f.rounds[len(f.asked)-1]()
}

func obs(id, value string) suites.CaseResult {
	return suites.CaseResult{ID: id, Obs: &suites.Observation{Type: "aliasing", Value: value}}
}

func gave(rs ...suites.CaseResult) func() (*runs.Suite, error) {
	return func() (*runs.Suite, error) { return &runs.Suite{Results: rs}, nil }
}

// Re-runs are judged on evidence: outcomes that disagree make a case
// flaky (with each run's outcome); a harness failure or a case that got no
// outcome leaves it not confirmed, and a harness failure ends the rounds.
func TestRerun(t *testing.T) {
	const a, b = "vmsplice/alias/read", "vmsplice/alias/tee"
	want := map[string]string{a: "aliasing:copied", b: "aliasing:copied"}
	boom := errors.New("boot: QEMU exited 1: cannot allocate memory")
	for _, tc := range []struct {
		name     string
		rounds   []func() (*runs.Suite, error)
		verdicts []string
		why      []string
		asked    int
		err      bool
	}{
		{"confirmed", []func() (*runs.Suite, error){gave(obs(a, "copied"), obs(b, "copied")), gave(obs(a, "copied"), obs(b, "copied"))},
			[]string{results.RerunConfirmed, results.RerunConfirmed}, []string{"", ""}, 2, false},
		{"one flips", []func() (*runs.Suite, error){gave(obs(a, "copied"), obs(b, "aliased")), gave(obs(a, "copied"), obs(b, "copied"))},
			[]string{results.RerunConfirmed, results.RerunFlaky}, []string{"", "aliasing:copied, aliasing:aliased, aliasing:copied"}, 2, false},
		{"harness fails at once", []func() (*runs.Suite, error){func() (*runs.Suite, error) { return nil, boom }},
			[]string{results.RerunNotConfirmed, results.RerunNotConfirmed}, []string{"cannot allocate memory", "cannot allocate memory"}, 1, true},
		{"harness fails in the second round", []func() (*runs.Suite, error){gave(obs(a, "copied"), obs(b, "copied")),
			func() (*runs.Suite, error) { return &runs.Suite{}, boom }},
			[]string{results.RerunNotConfirmed, results.RerunNotConfirmed}, []string{"cannot allocate memory", "cannot allocate memory"}, 2, true},
		{"not run is no outcome", []func() (*runs.Suite, error){gave(obs(a, "copied"), suites.CaseResult{ID: b, NotRun: "the kernel did not boot: no output"}),
			gave(obs(a, "copied"), obs(b, "copied"))},
			[]string{results.RerunConfirmed, results.RerunNotConfirmed}, []string{"", "not run: the kernel did not boot"}, 2, false},
		{"missing is no outcome", []func() (*runs.Suite, error){gave(obs(a, "copied")), gave(obs(a, "copied"))},
			[]string{results.RerunConfirmed, results.RerunNotConfirmed}, []string{"", "no result"}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRuns{rounds: tc.rounds}
			got, err := rerun(t.Context(), f.run, []string{a, b}, want, 2, func(string) {})
			if (err != nil) != tc.err {
				t.Errorf("error %v, want one: %v", err, tc.err)
			}
			if len(f.asked) != tc.asked {
				t.Errorf("%d rounds ran, want %d", len(f.asked), tc.asked)
			}
			for i, r := range got {
				if r.Verdict != tc.verdicts[i] || !strings.Contains(r.Why, tc.why[i]) || r.Outcomes[0] != want[r.ID] {
					t.Errorf("%s: %+v, want %s with %q", r.ID, r, tc.verdicts[i], tc.why[i])
				}
			}
		})
	}
}

// A peer subtest is re-run through its case; catalogue cases as they are;
// each case once.
func TestCaseIDs(t *testing.T) {
	got := caseIDs([]string{"peer/kselftest/mm.cow/vmsplice-pinned", "vmsplice/alias/read", "peer/kselftest/mm.cow/other", "no/such/case"})
	if want := []string{"peer/kselftest/mm.cow", "vmsplice/alias/read"}; !reflect.DeepEqual(got, want) {
		t.Errorf("caseIDs: %v, want %v", got, want)
	}
}

// The area rule reads git: quiet only when no commit between the nights
// touches the case's area; a case with no area, or commits git does not
// know, is never quiet.
func TestQuietArea(t *testing.T) {
	dir, _, commit := scratchRepo(t)
	c1 := commit("fs/splice.c", "one\n", "fs/splice.c")
	c2 := commit("Documentation/note.txt", "docs\n", "Documentation/note.txt")
	c3 := commit("fs/splice.c", "two\n", "fs/splice.c")
	for _, tc := range []struct {
		from, to, id string
		quiet        bool
	}{
		{c1, c2, "vmsplice/alias/read", true},
		{c2, c3, "vmsplice/alias/read", false},
		{c1, c3, "tee/data/x", false},
		{c1, c2, "nosuchgroup/x", false},
		{c1, strings.Repeat("f", 40), "vmsplice/alias/read", false},
	} {
		if _, quiet := quietArea(t.Context(), dir, tc.from, tc.to, tc.id); quiet != tc.quiet {
			t.Errorf("%s %s..%s: quiet %v, want %v", tc.id, tc.from[:7], tc.to[:7], quiet, tc.quiet)
		}
	}
}
