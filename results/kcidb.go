package results

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
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

// kcidbIssues turns a night's morning report into issues and incidents
// (new and still present: present; fixed: absent) and the run's failing
// perf regressions into issues present on their metric's test.
func (r *Record) kcidbIssues(d *KCIDBData) {
	cand := fmt.Sprintf("%s:%s-%s", KCIDBOrigin, r.ID, runs.Candidate)
	add := func(key, subject, comment, testID string, present bool) {
		issue := KCIDBIssue{ID: KCIDBOrigin + ":" + key, Version: 1, Origin: KCIDBOrigin, ReportSubject: subject,
			Culprit: KCIDBCulprit{Code: true}, Comment: comment}
		d.Issues = append(d.Issues, issue)
		d.Incidents = append(d.Incidents, KCIDBIncident{ID: fmt.Sprintf("%s:%s:%s", KCIDBOrigin, r.ID, key), Origin: KCIDBOrigin,
			IssueID: issue.ID, IssueVersion: 1, TestID: testID, Present: present, Comment: comment})
	}
	if n := r.Night; n != nil && n.Morning != nil {
		for _, group := range []struct {
			cs      []NightChange
			present bool
		}{{n.Morning.New, true}, {n.Morning.Present, true}, {n.Morning.Fixed, false}} {
			for _, c := range group.cs {
				comment := "first seen in " + c.Window
				if c.Unconfirmed != "" {
					comment += "; " + c.Unconfirmed
				}
				add(c.ID, fmt.Sprintf("%s: %s -> %s", c.ID, c.From, c.To), comment, cand+":"+c.ID, group.present)
			}
		}
	}
	if p := r.Perf; p != nil {
		for _, c := range p.Regressions {
			key := "perf/" + c.Bench + "/" + metricName(c.Metric)
			add(key, fmt.Sprintf("%s %s %+.1f%%", c.Bench, c.Metric, c.ChangePct), fmt.Sprintf("p=%.2g", c.P), cand+":"+key, true)
		}
	}
}

// kcidbPerPatch adds a checkout and build per prefix of a series run
// patch by patch, with its cases as tests: a patch that does not apply
// or build is a failed build, one not run a skipped one.
func (r *Record) kcidbPerPatch(d *KCIDBData) {
	for _, c := range r.PerPatch.Columns {
		base := fmt.Sprintf("%s:%s-patch-%d", KCIDBOrigin, r.ID, c.Index)
		co := KCIDBCheckout{ID: base, Origin: KCIDBOrigin, StartTime: kcidbTime(r.Started), Comment: fmt.Sprintf("%s %s", c.Label(), c.Title()), TreeName: r.Candidate.Spec.TreeName}
		b := KCIDBBuild{ID: base, CheckoutID: base, Origin: KCIDBOrigin, Architecture: "x86_64", Status: KCIDBPass,
			Misc: map[string]any{"patch": c.Name, "status": c.Status}}
		switch c.Status {
		case PatchNoApply:
			// KCIDB's word for a series that does not apply: an invalid
			// checkout, and no build of it.
			invalid := false
			co.Valid, co.Comment = &invalid, co.Comment+": "+truncate(c.Reason, 1024)
			d.Checkouts = append(d.Checkouts, co)
			continue
		case PatchNoBuild:
			b.Status, b.Comment = KCIDBFail, truncate(c.Reason, 1024)
		case PatchNotRun:
			b.Status, b.Comment = KCIDBSkip, c.Reason
		}
		if bld := c.Build; bld != nil {
			co.identify(bld)
			b.Compiler, b.ConfigName = bld.Compiler, bld.Base+"+"+strings.Join(bld.Fragments, "+")
			b.Misc["key"] = bld.Key
		}
		d.Checkouts = append(d.Checkouts, co)
		d.Builds = append(d.Builds, b)
		if !c.Ran() {
			continue
		}
		for _, res := range c.Run.Results {
			t := KCIDBTest{ID: base + ":" + res.ID, BuildID: b.ID, Origin: KCIDBOrigin, Path: kcidbPath("patchtest", res.ID), Duration: res.Duration.Seconds()}
			t.Status, t.Comment, t.LogExcerpt = caseStatus(res)
			d.Tests = append(d.Tests, t)
		}
	}
}

// caseStatus maps a case result to a KCIDB status, comment and excerpt:
// kernel problems FAIL, harness problems ERROR, skipped cases SKIP.
func caseStatus(res suites.CaseResult) (status, comment, excerpt string) {
	switch {
	case res.NotRun != "":
		return KCIDBMiss, "not run: " + res.NotRun, ""
	case res.Crash != "":
		return KCIDBFail, "the kernel crashed", truncate(res.Crash, maxLogExcerpt)
	case len(res.Invariant) > 0:
		return KCIDBFail, "invariant failed: " + res.Invariant[0], truncate(strings.Join(res.Invariant, "\n"), maxLogExcerpt)
	case res.Hung():
		return KCIDBFail, res.Error, truncate(res.Hang, maxLogExcerpt)
	case len(res.Kmsg) > 0:
		return KCIDBFail, "kernel log: " + res.Kmsg[0], truncate(strings.Join(res.Kmsg, "\n"), maxLogExcerpt)
	case res.Error != "":
		return KCIDBError, res.Error, ""
	case res.Obs != nil && res.Obs.Type == suites.TSkip:
		return KCIDBSkip, res.Obs.Value, ""
	case res.Obs != nil && res.Obs.Type == suites.TOutcome && strings.HasPrefix(res.Obs.Value, "not ok"):
		// A peer test's own failure, as KernelCI shows kselftests.
		return KCIDBFail, res.Obs.String(), ""
	case res.Obs != nil && res.Obs.Type == suites.TOutcome && res.Obs.Value == suites.TAPError:
		// KTAP's ERROR: the test could not be run.
		return KCIDBError, res.Obs.String(), ""
	case res.Obs != nil:
		return KCIDBPass, res.Obs.String(), ""
	}
	return KCIDBMiss, "", ""
}

// perfTests are one DONE test per benchmark metric with the side's
// median; on the candidate, an undeclared regression beyond the fail
// threshold is a FAIL that still carries its number.
func perfTests(p *PerfResult, role, base string, env *KCIDBEnvironment) []KCIDBTest {
	failing := map[string]bool{}
	for _, c := range p.Regressions {
		failing[c.Bench+" "+c.Metric] = true
	}
	var out []KCIDBTest
	for _, c := range p.Changes {
		d := c.Base
		if role == runs.Candidate {
			d = c.New
		}
		path := kcidbPath("patchtest.perf", c.Bench) + "." + metricName(c.Metric)
		t := KCIDBTest{ID: base + ":perf/" + c.Bench + "/" + metricName(c.Metric), BuildID: base, Origin: KCIDBOrigin,
			Path: path, Status: KCIDBDone, Environment: env,
			Misc: map[string]any{"samples": d.N, "ci_lo": d.Lo, "ci_hi": d.Hi, "stddev_pct": d.StddevPct, "level": p.Run.Level.Name}}
		if d.N > 0 {
			t.Number = &KCIDBNumber{Value: d.Median, Unit: c.Metric}
		} else {
			t.Status = KCIDBMiss
		}
		if role == runs.Candidate {
			t.Comment = fmt.Sprintf("%+.2f%% vs baseline, p=%.3f: %s", c.ChangePct, c.P, c.Verdict)
			t.Misc["change_pct"], t.Misc["p"], t.Misc["verdict"] = c.ChangePct, c.P, c.Verdict
			if failing[c.Bench+" "+c.Metric] {
				t.Status = KCIDBFail
			}
		}
		out = append(out, t)
	}
	return out
}

// kcidbPath turns a case or benchmark ID into a dotted test path under
// prefix, each part kept to letters, digits, '_' and '-'. A '.' within a
// part (a peer suite's mm.cow) makes a level of its own:
// patchtest.peer.kselftest.mm.cow.NAME.
func kcidbPath(prefix, id string) string {
	var parts []string
	for _, p := range strings.FieldsFunc(id, func(r rune) bool { return r == '/' || r == '.' }) {
		parts = append(parts, p)
	}
	for i, p := range parts {
		parts[i] = strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
				return r
			}
			return '_'
		}, p)
	}
	return prefix + "." + strings.Join(parts, ".")
}

// metricName names a metric as a path part.
func metricName(m string) string {
	switch m {
	case perf.Throughput:
		return "throughput"
	case perf.CPUPerGiB:
		return "cpu_s_per_gib"
	case perf.NsPerOp:
		return "ns_per_op"
	case perf.CallsPerS:
		return "calls_per_s"
	case perf.PeakRSS:
		return "maxrss_kib"
	}
	return strings.NewReplacer("/", "_per_", "-", "_").Replace(m)
}

// patchsetHash is KCIDB's patchset hash: the SHA-256 of the patches'
// SHA-256 hex digests, each followed by a newline; empty without patches.
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
