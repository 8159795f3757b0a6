package results

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/patchtest/patchtest/suites/runs"
)

// KCIDB is KernelCI's submission format, schema version 5.3: checkouts
// (the source and patch series) → builds → tests, linked by IDs that
// start with the submitting system's origin. patchtest submits each
// kernel as a checkout with one build; every case is a test under the
// dotted path patchtest.SUITE.GROUP.NAME, and every perf metric a DONE
// test carrying the median as its number.

// KCIDBOrigin is the origin patchtest submits as.
const KCIDBOrigin = "patchtest"

// KCIDBData is a KCIDB v5.3 submission.
type KCIDBData struct {
	Version   KCIDBVersion    `json:"version"`
	Checkouts []KCIDBCheckout `json:"checkouts"`
	Builds    []KCIDBBuild    `json:"builds"`
	Tests     []KCIDBTest     `json:"tests"`
	Issues    []KCIDBIssue    `json:"issues,omitempty"`
	Incidents []KCIDBIncident `json:"incidents,omitempty"`
}

// KCIDBIssue is a known problem: for patchtest, a case whose outcome a
// night found changed, or a benchmark that regressed. Its ID is stable
// across runs, so that every night reports the same issue.
type KCIDBIssue struct {
	ID            string       `json:"id"`
	Version       int          `json:"version"`
	Origin        string       `json:"origin"`
	ReportSubject string       `json:"report_subject,omitempty"`
	Culprit       KCIDBCulprit `json:"culprit"`
	Comment       string       `json:"comment,omitempty"`
}

// KCIDBCulprit says where an issue's cause lies.
type KCIDBCulprit struct {
	Code    bool `json:"code"`
	Tool    bool `json:"tool"`
	Harness bool `json:"harness"`
}

// KCIDBIncident says that an issue is present (or, once fixed, absent)
// in a test's result.
type KCIDBIncident struct {
	ID           string `json:"id"`
	Origin       string `json:"origin"`
	IssueID      string `json:"issue_id"`
	IssueVersion int    `json:"issue_version"`
	TestID       string `json:"test_id,omitempty"`
	Present      bool   `json:"present"`
	Comment      string `json:"comment,omitempty"`
}

// KCIDBVersion is the schema version of a submission.
type KCIDBVersion struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
}

// KCIDBCheckout is a source checkout with an optional patch series.
type KCIDBCheckout struct {
	ID       string `json:"id"`
	Origin   string `json:"origin"`
	TreeName string `json:"tree_name,omitempty"`
	// The commit of a git source, and its repository's URL (only one
	// KCIDB accepts: https://) and branch where known.
	GitRepositoryURL    string `json:"git_repository_url,omitempty"`
	GitCommitHash       string `json:"git_commit_hash,omitempty"`
	GitRepositoryBranch string `json:"git_repository_branch,omitempty"`
	PatchsetHash        string `json:"patchset_hash"`
	StartTime           string `json:"start_time,omitempty"`
	Comment             string `json:"comment,omitempty"`
	// Valid is false for a checkout whose series does not apply.
	Valid *bool          `json:"valid,omitempty"`
	Misc  map[string]any `json:"misc,omitempty"`
}

// kcidbURL is url when KCIDB accepts it as a repository's URL: an
// https:// URL (v5.3's pattern; git:// and local paths go to misc).
func kcidbURL(url string) string {
	if strings.HasPrefix(url, "https://") {
		return url
	}
	return ""
}

// identify fills the checkout's source identity from a build: the git
// commit, URL and branch; the source as the user named it in misc. The
// tree's common name (mainline, net-next) comes only from the
// configuration (kernels.*.tree_name, in the record's spec); without it
// tree_name is left out rather than guessed.
func (co *KCIDBCheckout) identify(bld *runs.Build) {
	co.PatchsetHash = patchsetHash(bld.Patches)
	if co.Misc == nil {
		co.Misc = map[string]any{}
	}
	co.Misc["source"], co.Misc["source_spec"] = bld.Source, bld.SourceSpec
	if bld.Series != "" {
		co.Misc["series"] = bld.Series
	}
	if g := bld.Git; g != nil {
		co.GitCommitHash, co.GitRepositoryBranch, co.GitRepositoryURL = g.Commit, g.Branch, kcidbURL(g.URL)
		if g.URL != "" && co.GitRepositoryURL == "" {
			co.Misc["git_repository"] = g.URL
		}
	}
}

// KCIDBBuild is one kernel build of a checkout.
type KCIDBBuild struct {
	ID           string         `json:"id"`
	CheckoutID   string         `json:"checkout_id"`
	Origin       string         `json:"origin"`
	StartTime    string         `json:"start_time,omitempty"`
	Duration     float64        `json:"duration,omitempty"`
	Architecture string         `json:"architecture"`
	Compiler     string         `json:"compiler,omitempty"`
	ConfigName   string         `json:"config_name,omitempty"`
	Status       string         `json:"status"`
	Comment      string         `json:"comment,omitempty"`
	Misc         map[string]any `json:"misc,omitempty"`
}

// KCIDBTest is one test run on a build.
type KCIDBTest struct {
	ID          string            `json:"id"`
	BuildID     string            `json:"build_id"`
	Origin      string            `json:"origin"`
	Path        string            `json:"path"`
	Status      string            `json:"status"`
	StartTime   string            `json:"start_time,omitempty"`
	Duration    float64           `json:"duration,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	LogExcerpt  string            `json:"log_excerpt,omitempty"`
	Number      *KCIDBNumber      `json:"number,omitempty"`
	Environment *KCIDBEnvironment `json:"environment,omitempty"`
	Misc        map[string]any    `json:"misc,omitempty"`
}

// KCIDBNumber is a test's numeric output.
type KCIDBNumber struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Prefix string  `json:"prefix,omitempty"`
}

// KCIDBEnvironment says where a test ran.
type KCIDBEnvironment struct {
	Comment string `json:"comment,omitempty"`
}

// KCIDB statuses, highest priority first.
const (
	KCIDBFail  = "FAIL"  // the kernel is faulty
	KCIDBError = "ERROR" // the test could not complete
	KCIDBMiss  = "MISS"  // the harness did not run it
	KCIDBPass  = "PASS"
	KCIDBDone  = "DONE" // ran, produced a value, no verdict
	KCIDBSkip  = "SKIP" // not applicable
)

// maxLogExcerpt is KCIDB's limit on log_excerpt.
const maxLogExcerpt = 16384

// KCIDB converts the run into a KCIDB v5.3 submission.
func (r *Record) KCIDB() KCIDBData {
	d := KCIDBData{Version: KCIDBVersion{Major: 5, Minor: 3}}
	unexpected := map[string]Change{}
	if r.Verdict != nil {
		for _, c := range r.Verdict.Unexpected {
			unexpected[c.ID] = c
		}
	} else {
		for _, c := range r.Changes {
			if strings.HasPrefix(c.ID, "fuzz/") {
				unexpected[c.ID] = c
			}
		}
	}
	all := map[string]bool{}
	for _, side := range []*KernelResult{&r.Baseline, &r.Candidate} {
		for _, res := range side.suiteResults() {
			all[res.ID] = true
		}
	}
	for _, side := range []*KernelResult{&r.Baseline, &r.Candidate} {
		base := fmt.Sprintf("%s:%s-%s", KCIDBOrigin, r.ID, side.Role)
		co := KCIDBCheckout{ID: base, Origin: KCIDBOrigin, StartTime: kcidbTime(r.Started), Comment: kernelDesc(*side), TreeName: side.Spec.TreeName}
		b := KCIDBBuild{ID: base, CheckoutID: base, Origin: KCIDBOrigin, Architecture: "x86_64", Status: KCIDBPass,
			Misc: map[string]any{"bzimage": side.BzImage, "role": side.Role}}
		if bld := side.Build; bld != nil {
			co.identify(bld)
			b.StartTime, b.Duration = kcidbTime(bld.Built.Add(-bld.Duration)), bld.Duration.Seconds()
			b.Compiler = bld.Compiler
			b.ConfigName = bld.Base + "+" + strings.Join(bld.Fragments, "+")
			b.Misc["key"] = bld.Key
		}
		d.Checkouts = append(d.Checkouts, co)
		d.Builds = append(d.Builds, b)
		env := &KCIDBEnvironment{Comment: r.Host}
		if side.Run != nil && len(side.Run.Boots) > 0 {
			bt := side.Run.Boots[0]
			env.Comment = fmt.Sprintf("QEMU %s, %s, %s, %d vCPU, %d MiB; host %s", bt.QEMU.Version, bt.Accel, bt.MachineType, bt.CPUs, bt.MemoryMiB, r.Host)
		}
		seen := map[string]bool{}
		for _, res := range side.suiteResults() {
			seen[res.ID] = true
			t := KCIDBTest{ID: base + ":" + res.ID, BuildID: b.ID, Origin: KCIDBOrigin, Path: kcidbPath("patchtest", res.ID),
				Duration: res.Duration.Seconds(), Environment: env}
			t.Status, t.Comment, t.LogExcerpt = caseStatus(res)
			if ch, ok := unexpected[res.ID]; ok && side.Role == runs.Candidate && t.Status == KCIDBPass {
				t.Status = KCIDBFail
				t.Comment = "unexpected change: " + ch.From + " -> " + ch.To
			}
			d.Tests = append(d.Tests, t)
		}
		// Cases that ran on the other kernel only: the harness missed them here.
		for id := range all {
			if !seen[id] {
				d.Tests = append(d.Tests, KCIDBTest{ID: base + ":" + id, BuildID: b.ID, Origin: KCIDBOrigin,
					Path: kcidbPath("patchtest", id), Status: KCIDBMiss, Environment: env})
			}
		}
		if r.Perf != nil {
			d.Tests = append(d.Tests, perfTests(r.Perf, side.Role, base, env)...)
		}
		if r.Fuzz != nil && side.Role == runs.Candidate {
			d.Tests = append(d.Tests, fuzzTests(r.Fuzz, base, unexpected, env)...)
		}
	}
	if r.PerPatch != nil {
		r.kcidbPerPatch(&d)
	}
	r.kcidbIssues(&d)
	return d
}

func patchsetHash(ps []runs.Patch) string {
	if len(ps) == 0 {
		return ""
	}
	h := sha256.New()
	for _, p := range ps {
		fmt.Fprintf(h, "%s\n", p.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func kcidbTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-len("\n[…]")], "") + "\n[…]"
}

// KCIDBJSON renders the submission as indented JSON.
func (r *Record) KCIDBJSON() ([]byte, error) {
	b, err := json.MarshalIndent(r.KCIDB(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
