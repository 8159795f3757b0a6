package results

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites/runs"
)

// b4's check contract: one line per finding, failures carrying "ERROR:"
// and warnings not, and a clean run no line at all (b4 classes any line
// as at least a warning).
func TestB4Lines(t *testing.T) {
	clean := &Record{ID: "r1", Verdict: &Verdict{}}
	if l := clean.B4Lines(); len(l) != 0 {
		t.Errorf("clean run: %q, want no line", l)
	}
	declared := &Record{ID: "r1", Verdict: &Verdict{}, Changes: []Change{{ID: "a/b/c", From: "x", To: "y"}}}
	if l := declared.B4Lines(); len(l) != 0 {
		t.Errorf("a run whose changes are all declared: %q, want no line", l)
	}
	bad := &Record{ID: "r2", Verdict: &Verdict{Unexpected: []Change{{ID: "a/b/c", From: "x", To: "y"}}},
		Candidate: KernelResult{Summary: ProblemsSummary{Crashes: []string{"splice/errors/same-pipe: Kernel panic\nsecond line"}}}}
	lines := bad.B4Lines()
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ERROR: ") || strings.Contains(l, "\n") {
			t.Errorf("line %q: want one ERROR: line", l)
		}
	}
	undeclared := &Record{ID: "r3", Changes: []Change{{ID: "a/b/c", From: "x", To: "y"}}}
	if l := undeclared.B4Lines(); len(l) != 1 || !strings.HasPrefix(l[0], "WARNING: changed a/b/c: x -> y") || strings.Contains(l[0], "ERROR:") {
		t.Errorf("undeclared change: %q", l)
	}
}

// Patchwork's checks API takes state (pending, success, warning, fail),
// context (a slug), description and target_url; a run patch by patch has
// one check per patch.
func TestPatchworkChecks(t *testing.T) {
	p := &PerPatch{Columns: []PatchColumn{
		{Index: 1, Total: 3, Subject: "one", Status: PatchOK, Run: &runs.Suite{}},
		{Index: 2, Total: 3, Subject: "two", Status: PatchNoBuild, Reason: strings.Repeat("fs/splice.c:1:1: error: x ", 20)},
		{Index: 3, Total: 3, Subject: "three", Status: PatchNotRun, Reason: "[PATCH 2/3] build-failed"},
	}}
	r := &Record{ID: "r", PerPatch: p}
	checks := r.PatchworkChecks("https://ci.example.org/r")
	b, _ := json.Marshal(checks)
	var got []map[string]string
	if err := json.Unmarshal(b, &got); err != nil || len(got) != 3 {
		t.Fatalf("checks %s: %v", b, err)
	}
	states := map[string]bool{"pending": true, CheckSuccess: true, CheckWarning: true, CheckFail: true}
	for i, c := range got {
		if !states[c["state"]] || !slugRe.MatchString(c["context"]) || c["description"] == "" || len([]rune(c["description"])) > 255 || c["target_url"] != "https://ci.example.org/r" {
			t.Errorf("check %d: %v", i, c)
		}
	}
	if got[0]["state"] != CheckSuccess || got[1]["state"] != CheckFail || got[2]["state"] != CheckWarning {
		t.Errorf("states %s %s %s", got[0]["state"], got[1]["state"], got[2]["state"])
	}
	one := (&Record{ID: "x", Verdict: &Verdict{}}).PatchworkChecks("")
	if len(one) != 1 || one[0].State != CheckSuccess {
		t.Errorf("a clean run: %+v", one)
	}
}
