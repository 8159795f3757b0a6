package results

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites"
)

func obs(t suites.Type, v string) *suites.Observation { return &suites.Observation{Type: t, Value: v} }

func TestDiff(t *testing.T) {
	base := []suites.CaseResult{
		{ID: "vmsplice/alias/read", Obs: obs(suites.TAliasing, "aliased")},
		{ID: "vmsplice/short/x", Obs: obs(suites.TBlocking, "returned 65536")},
		{ID: "splice/len/zero", Obs: obs(suites.TResult, "0")},
		{ID: "sendfile/alias/unread-socket", Obs: &suites.Observation{Type: suites.TAliasing, Value: "aliased", Note: "timing"}},
		{ID: "only/in/base", Obs: obs(suites.TBool, "yes")},
	}
	cand := []suites.CaseResult{
		{ID: "vmsplice/alias/read", Obs: obs(suites.TAliasing, "copied")},
		{ID: "vmsplice/short/x", Obs: obs(suites.TBlocking, "blocked")},
		{ID: "splice/len/zero", Obs: obs(suites.TResult, "0")},
		{ID: "sendfile/alias/unread-socket", Obs: &suites.Observation{Type: suites.TAliasing, Value: "aliased", Note: "other note"}},
		{ID: "tee/crash/x", Crash: "Kernel panic"},
	}
	var got []string
	for _, c := range Diff(base, cand) {
		got = append(got, c.String())
	}
	want := []string{
		"only/in/base: bool:yes -> missing",
		"tee/crash/x: missing -> crash",
		"vmsplice/alias/read: aliasing:aliased -> aliasing:copied",
		"vmsplice/short/x: blocking:returned 65536 -> blocking:blocked",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestExpect(t *testing.T) {
	p := filepath.Join(t.TempDir(), "expect.yaml")
	os.WriteFile(p, []byte(`changes:
  - cases: "vmsplice/alias/*"
    from: "aliasing:aliased"
    to: "aliasing:copied"
    why: vmsplice copies now
  - cases: "vmsplice/short/*"
    to: "blocking:blocked"
    any: true
  - cases: "tee/never/*"
`), 0o644)
	e, err := LoadExpect(p)
	if err != nil {
		t.Fatal(err)
	}
	ran := []string{"vmsplice/alias/read", "vmsplice/alias/tee", "vmsplice/alias/gift", "vmsplice/short/x", "vmsplice/short/y", "tee/data/z"}
	v := e.Check([]Change{
		{ID: "vmsplice/alias/read", From: "aliasing:aliased", To: "aliasing:copied"},
		{ID: "vmsplice/alias/tee", From: "aliasing:aliased", To: "aliasing:partial"},
		{ID: "vmsplice/short/x", From: "blocking:returned 65536", To: "blocking:blocked"},
	}, ran)
	if len(v.Expected) != 2 || len(v.Unexpected) != 1 || v.Unexpected[0].ID != "vmsplice/alias/tee" {
		t.Errorf("verdict %+v", v)
	}
	// A glob is met case by case: vmsplice/alias/tee changed otherwise
	// and vmsplice/alias/gift not at all; vmsplice/short/y did not change,
	// but that glob asks for any one. tee/never/* ran no case.
	var unmet []string
	for _, x := range v.Unmet {
		unmet = append(unmet, x.Cases)
	}
	if strings.Join(unmet, " ") != "vmsplice/alias/tee vmsplice/alias/gift" {
		t.Errorf("unmet %q", unmet)
	}
	e.Changes[1].Any = false
	if v := e.Check(nil, ran); len(v.Unmet) != 5 {
		t.Errorf("nothing changed: unmet %+v, want every alias and short case", v.Unmet)
	}
	if err := e.CheckCatalogue(suites.Catalogue()); err == nil || !strings.Contains(err.Error(), "tee/never/*") {
		t.Errorf("CheckCatalogue: %v", err)
	}
	os.WriteFile(p, []byte("changes:\n  - case: typo\n"), 0o644)
	if _, err := LoadExpect(p); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestReferenceExpect(t *testing.T) {
	e, err := LoadExpect("../kernels/patches/vmsplice-wrapper/expect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CheckCatalogue(suites.Catalogue()); err != nil {
		t.Error(err)
	}
	// A fuzz pattern must name a call the fuzzer makes.
	bad := &Expect{Changes: []Expectation{{Cases: "fuzz/vmsplic/*"}}}
	if err := bad.CheckCatalogue(suites.Catalogue()); err == nil || !strings.Contains(err.Error(), "no call") {
		t.Errorf("fuzz/vmsplic/*: %v", err)
	}
}

// A case that did not run, or skipped on one side only, is not a
// behaviour change: it is listed apart and fails nothing.
func TestNotComparable(t *testing.T) {
	base := []suites.CaseResult{
		{ID: "a/b/skip-cand", Obs: obs(suites.TBool, "yes")},
		{ID: "a/b/skip-base", Obs: skip("no AF_ALG")},
		{ID: "a/b/skip-both", Obs: skip("no kTLS")},
		{ID: "a/b/not-run", Obs: obs(suites.TBool, "yes")},
		{ID: "a/b/changed", Obs: obs(suites.TBool, "yes")},
	}
	cand := []suites.CaseResult{
		{ID: "a/b/skip-cand", Obs: skip("no AF_ALG")},
		{ID: "a/b/skip-base", Obs: obs(suites.TBool, "yes")},
		{ID: "a/b/skip-both", Obs: skip("no kTLS: other reason")},
		{ID: "a/b/not-run", NotRun: "the run was interrupted"},
		{ID: "a/b/changed", Obs: obs(suites.TBool, "no")},
	}
	var got []string
	for _, c := range Diff(base, cand) {
		got = append(got, c.String())
	}
	if want := "a/b/changed: bool:yes -> bool:no; a/b/skip-both: skip:no kTLS -> skip:no kTLS: other reason"; strings.Join(got, "; ") != want {
		t.Errorf("changes %q\nwant %s", got, want)
	}
	got = nil
	for _, c := range NotComparable(base, cand) {
		got = append(got, c.ID+" ("+c.Why+")")
	}
	want := []string{
		"a/b/not-run (not run on the candidate: the run was interrupted)",
		"a/b/skip-base (skipped on the baseline only: no AF_ALG)",
		"a/b/skip-cand (skipped on the candidate only: no AF_ALG)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("not comparable:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func skip(why string) *suites.Observation { o := suites.Skip(why); return &o }
