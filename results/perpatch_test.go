package results

import (
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

// The matrix attributes each change to the patch that first made it, and
// says what later patches did to it.
func TestPerPatchMatrix(t *testing.T) {
	obs := func(id, v string) suites.CaseResult {
		return suites.CaseResult{ID: id, Obs: &suites.Observation{Type: suites.TAliasing, Value: v}}
	}
	run := func(rs ...suites.CaseResult) *runs.Suite { return &runs.Suite{Results: rs} }
	base := []suites.CaseResult{obs("a/b/kept", "shared"), obs("a/b/reverted", "shared"), obs("a/b/altered", "shared"), obs("a/b/same", "shared")}
	p := &PerPatch{Columns: []PatchColumn{
		{Index: 1, Total: 4, Subject: "one", Status: PatchOK, Run: run(obs("a/b/kept", "copied"), obs("a/b/reverted", "copied"), obs("a/b/altered", "shared"), obs("a/b/same", "shared"))},
		{Index: 2, Total: 4, Subject: "two", Status: PatchOK, Run: run(obs("a/b/kept", "copied"), obs("a/b/reverted", "shared"), obs("a/b/altered", "copied"), obs("a/b/same", "shared"))},
		{Index: 3, Total: 4, Subject: "three", Status: PatchOK, Run: run(obs("a/b/kept", "copied"), obs("a/b/reverted", "shared"), obs("a/b/altered", "error"), obs("a/b/same", "shared"))},
		{Index: 4, Total: 4, Subject: "four", Status: PatchNotRun, Reason: "[PATCH 3/4] build-failed"},
	}}
	p.BuildMatrix(base)
	got := map[string]string{}
	for _, r := range p.Matrix {
		got[r.ID] = r.Fate + " by " + string(rune('0'+r.By)) + " " + strings.Join(r.Cols, ",")
	}
	want := map[string]string{
		"a/b/kept":     "kept by 1 aliasing:copied,aliasing:copied,aliasing:copied,-",
		"a/b/reverted": "reverted by 2 by 1 aliasing:copied,aliasing:shared,aliasing:shared,-",
		"a/b/altered":  "altered by 3 by 2 aliasing:shared,aliasing:copied,aliasing:error,-",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if _, ok := got["a/b/same"]; ok || len(p.Matrix) != 3 {
		t.Errorf("matrix %+v", p.Matrix)
	}
	if n := len(p.Attributed(1)); n != 2 {
		t.Errorf("patch 1 made %d changes, want 2", n)
	}
	text := strings.Join(p.Lines(), "\n")
	for _, s := range []string{"[PATCH 1/4] one", "changes these 2 observation(s)", "a/b/reverted: aliasing:shared -> aliasing:copied (reverted by 2)", "[PATCH 4/4] four\n  not run: [PATCH 3/4] build-failed"} {
		if !strings.Contains(text, s) {
			t.Errorf("report lacks %q:\n%s", s, text)
		}
	}
	if p.Failed() {
		t.Error("a series whose last patch was not run for want of nothing failed")
	}
	p.Columns[2].Status = PatchNoBuild
	if !p.Failed() {
		t.Error("a patch that does not build does not fail the series")
	}
}
