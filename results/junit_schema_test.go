package results

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites"
)

// xmllint validates doc against testdata/junit.xsd.
func xmllint(t *testing.T, doc []byte) error {
	t.Helper()
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("no xmllint to validate junit.xml with (apt-get install libxml2-utils)")
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
	}
	r.Changes = Diff(r.Baseline.Run.Results, r.Candidate.Run.Results)
	j, err := r.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if err := xmllint(t, j); err != nil {
		t.Fatalf("junit.xml does not validate: %v\n%s", err, j)
	}
	// And the schema is not a rubber stamp: each of these breaks a rule
	// that JUnit consumers (Jenkins, GitLab) rely on.
	doc := string(j)
	for what, bad := range map[string]string{
		"a testcase without a name":      strings.Replace(doc, `<testcase name="a/b/ok"`, `<testcase`, 1),
		"a suite without a tests count":  strings.Replace(doc, `<testsuite name="candidate`, `<testsuite x="candidate`, 1),
		"a time that is not a number":    strings.Replace(doc, `time="`, `time="soon`, 1),
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
