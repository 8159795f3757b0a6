package results

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm/setup"
)

// xmllint validates doc against testdata/junit.xsd.
func xmllint(t *testing.T, doc []byte) error {
	t.Helper()
	lint, err := setup.Program(t.Context(), setup.Need{Program: "xmllint", Package: "libxml2-utils", Why: "to validate junit.xml"}, false, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "junit.xml")
	os.WriteFile(p, doc, 0o644)
	out, err := exec.Command(lint, "--noout", "--schema", "testdata/junit.xsd", p).CombinedOutput()
	if err != nil {
		return &lintError{strings.TrimSpace(string(out))}
	}
	return nil
}

type lintError struct{ out string }

func (e *lintError) Error() string { return e.out }

func TestJUnitValidates(t *testing.T) {
	r := perfRecord()
	r.Baseline.Run.Results = []suites.CaseResult{{ID: "a/b/ok", Obs: &suites.Observation{Type: suites.TResult, Value: "0"}}}
	r.Candidate.Run.Results = []suites.CaseResult{
		{ID: "a/b/ok", Obs: &suites.Observation{Type: suites.TResult, Value: "1"}},
		{ID: "a/b/crash", Crash: "Kernel panic - not syncing: <&>"},
		{ID: "a/b/skip", Obs: &suites.Observation{Type: suites.TSkip, Value: "no AF_ALG"}},
		{ID: "a/b/err", Error: "setup: no such file"},
		{ID: "a/b/fast", Obs: &suites.Observation{Type: suites.TResult, Value: "0"}, Duration: 15 * time.Microsecond},
	}
	r.Candidate.Run.Release = "6.12.118"
	r.Changes = Diff(r.Baseline.Run.Results, r.Candidate.Run.Results)
	j, err := r.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if err := xmllint(t, j); err != nil {
		t.Fatalf("junit.xml does not validate: %v\n%s", err, j)
	}
	// Sub-millisecond times are decimals; the suite's name stays the same
	// from one release to the next.
	for _, want := range []string{`<testcase name="a/b/fast" classname="a.b" time="0.000015">`, `<testsuite name="candidate" `, `<property name="kernel.release" value="6.12.118">`} {
		if !strings.Contains(string(j), want) {
			t.Errorf("junit.xml lacks %s:\n%s", want, j)
		}
	}
	// And the schema is not a rubber stamp: each of these breaks a rule
	// that JUnit consumers (Jenkins, GitLab) rely on.
	doc := string(j)
	for what, bad := range map[string]string{
		"a testcase without a name":      strings.Replace(doc, `<testcase name="a/b/ok"`, `<testcase`, 1),
		"a suite without a tests count":  strings.Replace(doc, `<testsuite name="candidate`, `<testsuite x="candidate`, 1),
		"a time that is not a number":    strings.Replace(doc, `time="`, `time="soon`, 1),
		"a time in Go's %g":              strings.Replace(doc, `time="0.000015"`, `time="1.5e-05"`, 1),
		"a failure outside any testcase": strings.Replace(doc, `<testsuite `, `<failure message="x"></failure><testsuite `, 1),
		"an element JUnit does not know": strings.Replace(doc, `<testcase `, `<bogus/><testcase `, 1),
		"a negative failures count":      strings.Replace(doc, `failures="`, `failures="-`, 1),
	} {
		if bad == doc {
			t.Fatalf("%s: the replacement changed nothing", what)
		}
		if err := xmllint(t, []byte(bad)); err == nil {
			t.Errorf("%s validated", what)
		}
	}
}
