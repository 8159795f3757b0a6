package results

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

// JUnit XML, as CI dashboards read it: one test suite per kernel, one
// test case per catalogue case. Kernel problems (broken invariants,
// crashes, hangs, kernel warnings, and on the candidate unexpected
// changes) are failures; harness problems (a case that could not be set
// up) are errors.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

// add appends s and counts its tests.
func (a *junitSuites) add(s junitSuite) {
	a.Tests += s.Tests
	a.Failures += s.Failures
	a.Errors += s.Errors
	a.Suites = append(a.Suites, s)
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       junitSeconds     `xml:"time,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

// junitProperties are a suite's properties: what describes the run (the
// kernel's release) without being part of the suite's name, which
// dashboards key a case's history on.
type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// junitSeconds is a duration in seconds, written as a decimal (JUnit's
// xs:decimal: 0.000015, never Go's 1.5e-05).
type junitSeconds float64

// MarshalXMLAttr writes the seconds with microsecond precision.
func (s junitSeconds) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: strconv.FormatFloat(float64(s), 'f', 6, 64)}, nil
}

type junitCase struct {
	Name      string       `xml:"name,attr"`
	Classname string       `xml:"classname,attr"`
	Time      junitSeconds `xml:"time,attr"`
	Failure   *junitMsg    `xml:"failure,omitempty"`
	Error     *junitMsg    `xml:"error,omitempty"`
	Skipped   *junitMsg    `xml:"skipped,omitempty"`
	SystemOut string       `xml:"system-out,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit renders the run as JUnit XML.
func (r *Record) JUnit() ([]byte, error) {
	unexpected := map[string]Change{}
	if r.Verdict != nil {
		for _, c := range r.Verdict.Unexpected {
			unexpected[c.ID] = c
		}
	} else {
		for _, c := range r.Changes {
			unexpected[c.ID] = c
		}
	}
	all := junitSuites{Name: "patchtest " + r.ID}
	for _, k := range []KernelResult{r.Baseline, r.Candidate} {
		if k.Run == nil {
			continue
		}
		// The suite is the kernel's role alone: with the release in its
		// name, every case would be new to GitLab on each release.
		s := junitSuite{Name: k.Role, Properties: &junitProperties{Property: []junitProperty{{Name: "kernel.release", Value: k.Run.Release}}}}
		for _, res := range k.Run.Results {
			c := junitCase{Name: res.ID, Classname: classname(res.ID), Time: junitSeconds(res.Duration.Seconds())}
			if res.Obs != nil {
				c.SystemOut = res.Obs.String()
			}
			var problems []string
			problems = append(problems, res.Invariant...)
			if res.Crash != "" {
				problems = append(problems, res.Crash)
			}
			if res.Hung() {
				problems = append(problems, res.Error+"\n"+res.Hang)
			}
			for _, l := range res.Kmsg {
				problems = append(problems, "kernel log: "+l)
			}
			if ch, ok := unexpected[res.ID]; ok && k.Role == runs.Candidate {
				problems = append(problems, "unexpected change: "+ch.From+" -> "+ch.To)
			}
			switch {
			case len(problems) > 0:
				c.Failure = &junitMsg{Message: firstLine(problems[0]), Type: "kernel", Text: strings.Join(problems, "\n")}
				s.Failures++
			case res.Error != "":
				c.Error = &junitMsg{Message: firstLine(res.Error), Type: "harness", Text: res.Error}
				s.Errors++
			case res.Obs != nil && res.Obs.Type == suites.TOutcome && res.Obs.Value == suites.TAPError:
				c.Error = &junitMsg{Message: res.Obs.String(), Type: "test could not run"}
				s.Errors++
			case res.NotRun != "":
				c.Skipped = &junitMsg{Message: "not run: " + res.NotRun}
				s.Skipped++
			case res.Obs != nil && res.Obs.Type == suites.TSkip:
				c.Skipped = &junitMsg{Message: res.Obs.Value}
				s.Skipped++
			}
			s.Tests++
			s.Time += c.Time
			s.Cases = append(s.Cases, c)
		}
		all.add(s)
	}
	if r.PerPatch != nil {
		all.add(perPatchJUnit(r.PerPatch))
	}
	if r.Night != nil && len(r.Night.Reruns) > 0 {
		all.add(rerunJUnit(r.Night.Reruns))
	}
	if r.Perf != nil {
		all.add(perfJUnit(r.Perf))
	}
	if r.Fuzz != nil {
		all.add(fuzzJUnit(r.Fuzz, unexpected))
	}
	b, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// rerunJUnit is one test case per change a night ran again: confirmed
// passes, flaky is skipped with its evidence, and one whose re-run could
// not run is the harness's error.
func rerunJUnit(reruns []Rerun) junitSuite {
	s := junitSuite{Name: "nightly re-runs"}
	for _, r := range reruns {
		c := junitCase{Name: r.ID, Classname: classname(r.ID), SystemOut: strings.Join(r.Outcomes, "\n")}
		switch r.Verdict {
		case RerunFlaky:
			c.Skipped = &junitMsg{Message: "flaky: " + r.Why}
			s.Skipped++
		case RerunNotConfirmed:
			c.Error = &junitMsg{Message: "not confirmed: " + r.Why, Type: "harness", Text: r.Why}
			s.Errors++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	return s
}

// perPatchJUnit is one test case per patch of a series run patch by
// patch: a patch that does not apply, build or boot, or whose kernel
// crashes, hangs or breaks an invariant, fails; one not run is skipped;
// the observations it changes are its output.
func perPatchJUnit(p *PerPatch) junitSuite {
	s := junitSuite{Name: "per-patch"}
	for _, c := range p.Columns {
		jc := junitCase{Name: c.Label() + " " + c.Title(), Classname: "per-patch"}
		var out []string
		for _, r := range p.Attributed(c.Index) {
			out = append(out, fmt.Sprintf("%s: %s -> %s (%s)", r.ID, r.Base, r.Cols[c.Index-1], r.Fate))
		}
		jc.SystemOut = strings.Join(out, "\n")
		switch {
		case c.Status == PatchNotRun:
			jc.Skipped = &junitMsg{Message: "not run: " + c.Reason}
			s.Skipped++
		case c.Status != PatchOK:
			jc.Failure = &junitMsg{Message: c.Status + ": " + firstLine(c.Reason), Type: "kernel", Text: c.Reason}
			s.Failures++
		case c.Summary.Findings():
			ps := append(append(append(append([]string{}, c.Summary.Crashes...), c.Summary.Hangs...), c.Summary.Invariants...), c.Summary.Kernel...)
			ps = append(ps, c.Summary.Kmsg...)
			jc.Failure = &junitMsg{Message: firstLine(ps[0]), Type: "kernel", Text: strings.Join(ps, "\n")}
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, jc)
	}
	return s
}

// classname turns vmsplice/alias/read into vmsplice.alias.
func classname(id string) string {
	if i := strings.LastIndexByte(id, '/'); i > 0 {
		return strings.ReplaceAll(id[:i], "/", ".")
	}
	return id
}

// perfJUnit is one test case per benchmark metric: an undeclared
// regression beyond the fail threshold is a failure.
func perfJUnit(p *PerfResult) junitSuite {
	failing := map[string]bool{}
	for _, c := range p.Regressions {
		failing[c.Bench+" "+c.Metric] = true
	}
	s := junitSuite{Name: "perf (" + p.Run.Level.Name + ")"}
	for _, c := range p.Changes {
		jc := junitCase{Name: c.Bench + " " + c.Metric, Classname: "perf." + classname(c.Bench),
			SystemOut: fmt.Sprintf("base %g, new %g, change %+.2f%%, p=%.3f, n=%d+%d: %s", c.Base.Median, c.New.Median, c.ChangePct, c.P, c.Base.N, c.New.N, c.Verdict)}
		if failing[jc.Name] {
			jc.Failure = &junitMsg{Message: fmt.Sprintf("regression %+.1f%% (p=%.3f)", c.ChangePct, c.P), Type: "kernel", Text: jc.SystemOut}
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, jc)
	}
	if p.Error != "" {
		s.Cases = append(s.Cases, junitCase{Name: "perf run", Classname: "perf", Failure: &junitMsg{Message: p.Error, Type: "kernel", Text: p.Error}})
		s.Tests++
		s.Failures++
	}
	return s
}
