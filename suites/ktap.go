package suites

import (
	"regexp"
	"strconv"
	"strings"
)

// TAPResult is one top-level result line of a KTAP or TAP stream.
type TAPResult struct {
	Number int
	// Name names the subtest: the title of the "[RUN]" or "RUN" line
	// that announced it when there was one (mm's tests describe their
	// result, not the test, on the result line), else the result's
	// description.
	Name string
	Obs  Observation
}

// TAPParser reads a kselftest's KTAP/TAP output line by line.
type TAPParser struct {
	// Running is the subtest announced and not yet reported, "" when
	// none: the one a hung program was in.
	Running string
	// Plan is the number of subtests the plan line announced, -1 when
	// none was seen.
	Plan int
	// diag is the last diagnostic line since the previous result, loc
	// the first that names a source line (an assertion's "tls.c:383:").
	diag, loc string
	Results   []TAPResult
}

// NewTAPParser returns a parser with no plan seen yet.
func NewTAPParser() *TAPParser { return &TAPParser{Plan: -1} }

var (
	// KTAP's result line (Documentation/dev-tools/ktap.rst):
	// <result> <number> [<description>][ # [<directive>] [<diagnostic data>]];
	// the description is anything but '#', and the directive the first
	// word after the '#' when it is one of tapDirectives.
	tapResultRe = regexp.MustCompile(`^(not ok|ok)\s+(\d+)\b\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*?))?\s*$`)
	tapPlanRe   = regexp.MustCompile(`^1\.\.(\d+)`)
	// kselftest_harness.h's status lines ("#            OK  name") say
	// nothing the result line does not.
	tapStatusRe = regexp.MustCompile(`^(OK|FAIL|SKIP|XFAIL|XPASS)\s`)
	tapLocRe    = regexp.MustCompile(`\.c:\d+:`)
	// "# [RUN] title" (kselftest.h users such as mm/cow) and
	// "#  RUN           fixture.variant.test ..." (kselftest_harness.h).
	tapRunRe = regexp.MustCompile(`^#\s*(?:\[RUN\]|RUN)\s+(.*?)\s*(?:\.\.\.)?\s*$`)
)

// Line takes one line of output and returns the result it completes, if
// any. Indented (nested) results belong to a subtest's own subtests and
// are left to it.
func (p *TAPParser) Line(line string) (TAPResult, bool) {
	line = strings.TrimRight(line, "\r\n")
	if m := tapPlanRe.FindStringSubmatch(line); m != nil && p.Plan < 0 {
		p.Plan, _ = strconv.Atoi(m[1])
		return TAPResult{}, false
	}
	if m := tapRunRe.FindStringSubmatch(line); m != nil {
		p.Running, p.diag, p.loc = m[1], "", ""
		return TAPResult{}, false
	}
	if strings.HasPrefix(line, "#") {
		if d := strings.TrimSpace(strings.TrimLeft(line, "#")); d != "" && !strings.HasPrefix(d, "[INFO]") && !tapStatusRe.MatchString(d) {
			p.diag = d
			if p.loc == "" && tapLocRe.MatchString(d) {
				p.loc = d
			}
		}
		return TAPResult{}, false
	}
	m := tapResultRe.FindStringSubmatch(line)
	if m == nil {
		return TAPResult{}, false
	}
	n, _ := strconv.Atoi(m[2])
	r := TAPResult{Number: n, Name: m[3]}
	if p.Running != "" {
		r.Name = p.Running
	}
	if r.Name == "" {
		r.Name = "test-" + m[2]
	}
	directive, reason := tapDirective(m[4])
	switch {
	case directive == "skip":
		if reason == "" {
			reason = "skipped by the test"
		}
		r.Obs = Skip(reason)
	case directive == "xfail" || (directive == "todo" && m[1] == "not ok"):
		r.Obs = Outcome("xfail", reason)
	case directive == "error":
		// The test could not be run (KCIDB's ERROR), which is neither
		// its pass nor its failure.
		r.Obs = Outcome(TAPError, reason)
	case directive == "timeout":
		r.Obs = Outcome("not ok", strings.TrimSpace("timeout "+reason))
	case m[1] == "ok":
		r.Obs = Outcome("ok", reason)
	default:
		note := reason
		if note == "" {
			note = p.loc
		}
		if note == "" {
			note = p.diag
		}
		r.Obs = Outcome("not ok", note)
	}
	p.Running, p.diag, p.loc = "", "", ""
	p.Results = append(p.Results, r)
	return r, true
}

// TAPError is the outcome of a test whose result line says ERROR: it
// could not be run.
const TAPError = "error"

// tapDirectives are KTAP's directives, in lower case.
var tapDirectives = map[string]bool{"skip": true, "todo": true, "xfail": true, "timeout": true, "error": true}

// tapDirective splits what follows a result line's '#' into its
// directive (lower case; "" when the first word is none, whatever its
// case) and the diagnostic data.
func tapDirective(s string) (directive, data string) {
	first, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	if d := strings.ToLower(first); tapDirectives[d] {
		return d, strings.TrimSpace(rest)
	}
	return "", strings.TrimSpace(s)
}

// SubName turns a subtest's name into the last part of a case ID:
// lower case letters, digits, '_' and '.', other runs of characters as
// one '-'; unique among seen (a repeated name gets -2, -3, ...).
func SubName(name string, seen map[string]int) string {
	name = strings.ReplaceAll(strings.ToLower(name), "...", " ")
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.'
		if !ok {
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
	}
	s := strings.Trim(b.String(), ".")
	if len(s) > 96 {
		s = strings.TrimRight(s[:96], "-.")
	}
	if s == "" {
		s = "unnamed"
	}
	if seen != nil {
		seen[s]++
		if n := seen[s]; n > 1 {
			s += "-" + strconv.Itoa(n)
		}
	}
	return s
}
