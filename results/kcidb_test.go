package results

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

func TestKCIDBValidates(t *testing.T) {
	r := perfRecord()
	r.Baseline.Run.Results = []suites.CaseResult{
		{ID: "a/b/ok", Obs: &suites.Observation{Type: suites.TResult, Value: "0"}},
		{ID: "a/b/gone", Obs: &suites.Observation{Type: suites.TResult, Value: "0"}},
	}
	r.Candidate.Run.Results = []suites.CaseResult{
		{ID: "a/b/ok", Obs: &suites.Observation{Type: suites.TResult, Value: "1"}},
		{ID: "a/b/crash", Crash: "Kernel panic - not syncing: " + strings.Repeat("x", 20000)},
		{ID: "a/b/inv", Obs: &suites.Observation{Type: suites.TResult, Value: "0"}, Invariant: []string{"data differs"}},
		{ID: "a/b/skip", Obs: &suites.Observation{Type: suites.TSkip, Value: "no AF_ALG"}},
		{ID: "a/b/err", Error: "setup: no such file"},
	}
	r.Changes = Diff(r.Baseline.Run.Results, r.Candidate.Run.Results)
	v := (&Expect{}).Check(r.Changes, nil)
	r.Verdict = &v
	b, err := r.KCIDBJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateKCIDB(b); err != nil {
		t.Fatalf("kcidb.json does not validate: %v", err)
	}
	var d KCIDBData
	json.Unmarshal(b, &d)
	status := map[string]string{}
	for _, tt := range d.Tests {
		status[tt.ID[strings.LastIndex(tt.ID, ":")+1:]+"@"+tt.BuildID[strings.LastIndex(tt.BuildID, "-")+1:]] = tt.Status
	}
	for key, want := range map[string]string{
		"a/b/ok@baseline": KCIDBPass, "a/b/ok@candidate": KCIDBFail, // unexpected change
		"a/b/crash@candidate": KCIDBFail, "a/b/inv@candidate": KCIDBFail,
		"a/b/skip@candidate": KCIDBSkip, "a/b/err@candidate": KCIDBError,
		"a/b/gone@candidate": KCIDBMiss, "a/b/crash@baseline": KCIDBMiss,
		"perf/vmsplice/pipe-devnull/64KiB/throughput@baseline": KCIDBDone,
	} {
		if status[key] != want {
			t.Errorf("%s: status %q, want %q", key, status[key], want)
		}
	}
	if len(d.Checkouts) != 2 || len(d.Builds) != 2 {
		t.Errorf("%d checkouts, %d builds; want 2 and 2", len(d.Checkouts), len(d.Builds))
	}
}

// The schema must reject what KCIDB rejects, or the test above proves
// nothing.
func TestKCIDBSchemaRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"no version":        `{"tests": []}`,
		"bad status":        `{"version":{"major":5,"minor":3},"tests":[{"id":"patchtest:x","build_id":"patchtest:b","origin":"patchtest","status":"OK"}]}`,
		"id sans origin":    `{"version":{"major":5,"minor":3},"builds":[{"id":"x","checkout_id":"patchtest:c","origin":"patchtest"}]}`,
		"empty path part":   `{"version":{"major":5,"minor":3},"tests":[{"id":"patchtest:x","build_id":"patchtest:b","origin":"patchtest","path":"a..b"}]}`,
		"unknown field":     `{"version":{"major":5,"minor":3},"tests":[{"id":"patchtest:x","build_id":"patchtest:b","origin":"patchtest","color":"red"}]}`,
		"number sans value": `{"version":{"major":5,"minor":3},"tests":[{"id":"patchtest:x","build_id":"patchtest:b","origin":"patchtest","number":{"unit":"B/s"}}]}`,
		// v5.3's own patterns (kcidb-io's schema/v05_03.py and the
		// versions it builds on): path parts of [a-zA-Z0-9_-], an
		// architecture of [a-z0-9_], an https:// repository, a 40 or 64
		// hex digit commit.
		"slash in a path":   `{"version":{"major":5,"minor":3},"tests":[{"id":"patchtest:x","build_id":"patchtest:b","origin":"patchtest","path":"patchtest.vmsplice/alias"}]}`,
		"star in a path":    `{"version":{"major":5,"minor":3},"tests":[{"id":"patchtest:x","build_id":"patchtest:b","origin":"patchtest","path":"patchtest.tee.*"}]}`,
		"architecture":      `{"version":{"major":5,"minor":3},"builds":[{"id":"patchtest:b","checkout_id":"patchtest:c","origin":"patchtest","architecture":"x86-64"}]}`,
		"git:// repository": `{"version":{"major":5,"minor":3},"checkouts":[{"id":"patchtest:c","origin":"patchtest","git_repository_url":"git://git.kernel.org/linux.git"}]}`,
		"short commit":      `{"version":{"major":5,"minor":3},"checkouts":[{"id":"patchtest:c","origin":"patchtest","git_commit_hash":"abcdef123456"}]}`,
	} {
		if err := schema.ValidateKCIDB([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A series run patch by patch has a checkout and build per patch: built
// ones carry their cases, one that does not build is a failed build, one
// not run a skipped one; all of it validates.
func TestKCIDBPerPatch(t *testing.T) {
	r := perfRecord()
	r.Perf = nil
	r.PerPatch = &PerPatch{Columns: []PatchColumn{
		{Index: 1, Total: 3, Name: "0001.patch", Subject: "one", Status: PatchOK, Run: &runs.Suite{Results: []suites.CaseResult{{ID: "a/b/ok", Obs: &suites.Observation{Type: suites.TResult, Value: "1"}}}}},
		{Index: 2, Total: 3, Name: "0002.patch", Subject: "two", Status: PatchNoBuild, Reason: "fs/splice.c:1:1: error: x"},
		{Index: 3, Total: 3, Name: "0003.patch", Subject: "three", Status: PatchNotRun, Reason: "[PATCH 2/3] build-failed"},
	}}
	b, err := r.KCIDBJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateKCIDB(b); err != nil {
		t.Fatalf("kcidb.json does not validate: %v", err)
	}
	var d KCIDBData
	json.Unmarshal(b, &d)
	builds := map[string]string{}
	for _, bl := range d.Builds {
		builds[bl.ID[strings.LastIndex(bl.ID, "-")+1:]] = bl.Status
	}
	if builds["1"] != KCIDBPass || builds["2"] != KCIDBFail || builds["3"] != KCIDBSkip || len(d.Checkouts) != 5 {
		t.Errorf("builds %v, %d checkouts", builds, len(d.Checkouts))
	}
	n := 0
	for _, tt := range d.Tests {
		if strings.Contains(tt.BuildID, "-patch-1") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d tests on patch 1's build, want 1", n)
	}
}

// A night's new, present and fixed changes and a run's failing perf
// regressions are KCIDB issues (stable IDs, culprit: code) with an
// incident each on the candidate's test, present or, once fixed, absent.
func TestKCIDBIssues(t *testing.T) {
	r := perfRecord()
	r.Night = &Night{Tree: "/linux", Branch: "main", Commit: "c", Morning: &Morning{
		New:   []NightChange{{ID: "vmsplice/alias/read", From: "a", To: "b", Window: "a..b"}},
		Fixed: []NightChange{{ID: "tee/data/x", From: "b", To: "a", Window: "b..c"}},
	}}
	b, err := r.KCIDBJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateKCIDB(b); err != nil {
		t.Fatalf("kcidb.json does not validate: %v", err)
	}
	var d KCIDBData
	json.Unmarshal(b, &d)
	want := 2 + len(r.Perf.Regressions)
	if len(d.Issues) != want || len(d.Incidents) != want || len(r.Perf.Regressions) == 0 {
		t.Fatalf("%d issues, %d incidents; want %d each", len(d.Issues), len(d.Incidents), want)
	}
	tests := map[string]bool{}
	for _, tt := range d.Tests {
		tests[tt.ID] = true
	}
	for _, in := range d.Incidents {
		if !tests[in.TestID] && strings.Contains(in.TestID, "perf/") {
			t.Errorf("incident %s names test %s, which the submission lacks", in.ID, in.TestID)
		}
		if strings.HasSuffix(in.IssueID, "tee/data/x") == in.Present {
			t.Errorf("incident %s present %v", in.ID, in.Present)
		}
	}
	if d.Issues[0].ID != "patchtest:vmsplice/alias/read" || !d.Issues[0].Culprit.Code {
		t.Errorf("issue %+v", d.Issues[0])
	}
}

// A git source's checkout carries its commit, branch and (a URL KCIDB
// accepts) repository; a local path stays in misc; no tree_name is
// guessed from the source spec (only the configuration's tree_name is
// one: the candidate's, for its own checkout and its patches'); a series
// that does not apply is an invalid checkout with no build.
func TestKCIDBCheckoutIdentity(t *testing.T) {
	r := perfRecord()
	r.Perf = nil
	r.Candidate.Spec.TreeName = "mainline"
	commit := strings.Repeat("ab", 20)
	r.Candidate.Build = &runs.Build{Source: "git:" + commit, SourceSpec: "git:/home/me/linux@master",
		Git: &runs.GitIdentity{Commit: commit, URL: "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git", Branch: "master"}}
	r.Baseline.Build = &runs.Build{Source: "git:" + commit, SourceSpec: "git:/home/me/linux",
		Git: &runs.GitIdentity{Commit: commit, URL: "/srv/mirror/linux"}}
	r.PerPatch = &PerPatch{Columns: []PatchColumn{{Index: 1, Total: 1, Name: "0001.patch", Subject: "one", Status: PatchNoApply, Reason: "patch does not apply: fs/splice.c"}}}
	b, err := r.KCIDBJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateKCIDB(b); err != nil {
		t.Fatalf("kcidb.json does not validate: %v", err)
	}
	var d KCIDBData
	json.Unmarshal(b, &d)
	byID := map[string]KCIDBCheckout{}
	for _, c := range d.Checkouts {
		byID[c.ID[strings.LastIndex(c.ID, "-")+1:]] = c
		want := "mainline"
		if strings.HasSuffix(c.ID, "-"+runs.Baseline) {
			want = ""
		}
		if c.TreeName != want {
			t.Errorf("%s: tree_name %q, want %q (the configuration's, never guessed)", c.ID, c.TreeName, want)
		}
	}
	if c := byID[runs.Candidate]; c.GitCommitHash != commit || c.GitRepositoryBranch != "master" || !strings.HasPrefix(c.GitRepositoryURL, "https://") {
		t.Errorf("candidate checkout %+v", c)
	}
	if c := byID[runs.Baseline]; c.GitCommitHash != commit || c.GitRepositoryURL != "" || c.Misc["git_repository"] != "/srv/mirror/linux" {
		t.Errorf("baseline checkout %+v", c)
	}
	if c := byID["1"]; c.Valid == nil || *c.Valid {
		t.Errorf("the checkout of a series that does not apply: %+v", c)
	}
	for _, bl := range d.Builds {
		if strings.HasSuffix(bl.ID, "-patch-1") {
			t.Errorf("a build of an invalid checkout: %+v", bl)
		}
	}
	// The schema is upstream's on the URL: a local path is refused.
	bad := strings.Replace(string(b), `"git_commit_hash"`, `"git_repository_url":"/srv/mirror/linux","git_commit_hash"`, 1)
	if schema.ValidateKCIDB([]byte(bad)) == nil {
		t.Error("a local path validated as git_repository_url")
	}
}
