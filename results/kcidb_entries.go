package results

import (
	"fmt"
	"strings"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

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
