// Package console reads a guest's serial console: it splits the byte stream
// into lines across read boundaries and recognises kernel reports (panics,
// oopses, BUGs, WARNINGs, sanitizer reports, lockups, stalls), keeping each
// report's lines with some context before them.
package console

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Kind names a class of kernel report.
type Kind string

// Kinds of kernel report.
const (
	Panic      Kind = "panic"
	Oops       Kind = "oops"
	Bug        Kind = "bug"
	Warning    Kind = "warning"
	GPF        Kind = "general protection fault"
	KASAN      Kind = "kasan"
	UBSAN      Kind = "ubsan"
	KFENCE     Kind = "kfence"
	Lockdep    Kind = "lockdep"
	HungTask   Kind = "hung task"
	SoftLockup Kind = "soft lockup"
	HardLockup Kind = "hard lockup"
	RCUStall   Kind = "rcu stall"
)

// Fatal reports whether a report of kind k means the kernel cannot go on.
func (k Kind) Fatal() bool { return k == Panic }

// Report is one kernel report as it appeared on the console.
type Report struct {
	Kind  Kind
	Title string // the line that started it, without the timestamp
	// Lines holds up to ContextLines lines before the title, the title, and
	// the lines that followed until the report ended.
	Lines []string
	// Line is the 1-based console line number of the title.
	Line int
	// Complete is set when the kernel's end-of-report marker was seen.
	Complete bool
}

// ContextLines is how many lines before a report are kept with it.
const ContextLines = 5

// maxReportLines bounds one report; a longer one is cut.
const maxReportLines = 200

type pattern struct {
	kind Kind
	re   *regexp.Regexp
}

// patterns are tried in order against each line with its timestamp removed;
// more specific ones come first.
var patterns = []pattern{
	{Panic, regexp.MustCompile(`^Kernel panic - not syncing`)},
	{KASAN, regexp.MustCompile(`^BUG: KASAN: `)},
	{KFENCE, regexp.MustCompile(`^BUG: KFENCE: `)},
	{SoftLockup, regexp.MustCompile(`^(watchdog: )?BUG: soft lockup`)},
	{HardLockup, regexp.MustCompile(`^(watchdog: )?(BUG: hard lockup|Watchdog detected hard LOCKUP)`)},
	{Bug, regexp.MustCompile(`^(BUG: |kernel BUG at )`)},
	{GPF, regexp.MustCompile(`^(Oops: )?general protection fault`)},
	{Oops, regexp.MustCompile(`^Oops(: |\[#)`)},
	{UBSAN, regexp.MustCompile(`^UBSAN: `)},
	{Lockdep, regexp.MustCompile(`^WARNING: (possible (circular|recursive) locking|suspicious RCU usage|inconsistent lock state|lock held when returning)`)},
	{Warning, regexp.MustCompile(`^WARNING: `)},
	{HungTask, regexp.MustCompile(`^INFO: task .* blocked for more than`)},
	{RCUStall, regexp.MustCompile(`^(rcu: )?INFO: rcu_\w+ (self-)?detected (stalls|stall)`)},
}

// endMarker ends a report: "---[ end trace …]---", "---[ end Kernel panic …".
var endMarker = regexp.MustCompile(`^-+\[ end (trace|Kernel panic)`)

// prefix matches the printk timestamp and caller fields at the start of a line.
var prefix = regexp.MustCompile(`^(<\d+>)?(\[\s*\d+\.\d+\])?\s*(\[\s*[TC]\d+\])?\s*`)

// StripPrefix removes the printk timestamp and caller ID from a console line.
func StripPrefix(line string) string { return prefix.ReplaceAllString(line, "") }

// Classify returns the kind of report that line starts, if any.
func Classify(line string) (Kind, bool) {
	s := StripPrefix(line)
	for _, p := range patterns {
		if p.re.MatchString(s) {
			return p.kind, true
		}
	}
	return "", false
}

// Detector finds reports in a stream of console lines. Ignore lists the
// prefixes of lines that are not the kernel's (the guest init's messages):
// such a line ends an open report and never starts one.
type Detector struct {
	Ignore []string

	line    int
	before  []string // the last ContextLines lines
	open    *Report
	reports []Report
}

// Line feeds one console line (without its newline). It returns the report
// that this line starts, or nil.
func (d *Detector) Line(line string) *Report {
	d.line++
	line = strings.TrimRight(line, "\r")
	for _, p := range d.Ignore {
		if strings.HasPrefix(line, p) {
			d.closeOpen(false)
			d.remember(line)
			return nil
		}
	}
	if kind, ok := Classify(line); ok {
		d.closeOpen(false)
		r := &Report{
			Kind:  kind,
			Title: StripPrefix(line),
			Lines: append(append([]string(nil), d.before...), line),
			Line:  d.line,
		}
		d.open = r
		d.before = d.before[:0]
		return r
	}
	if d.open != nil {
		d.open.Lines = append(d.open.Lines, line)
		if endMarker.MatchString(StripPrefix(line)) {
			d.closeOpen(true)
		} else if len(d.open.Lines) >= maxReportLines {
			d.closeOpen(false)
		}
		return nil
	}
	d.remember(line)
	return nil
}

func (d *Detector) remember(line string) {
	if len(d.before) == ContextLines {
		d.before = append(d.before[:0], d.before[1:]...)
	}
	d.before = append(d.before, line)
}

func (d *Detector) closeOpen(complete bool) {
	if d.open == nil {
		return
	}
	d.open.Complete = complete
	d.reports = append(d.reports, *d.open)
	d.open = nil
}

// Reports returns every report seen so far, the one still open included.
func (d *Detector) Reports() []Report {
	out := append([]Report(nil), d.reports...)
	if d.open != nil {
		r := *d.open
		r.Lines = append([]string(nil), r.Lines...)
		out = append(out, r)
	}
	return out
}

// Splitter cuts a byte stream into lines, keeping a partial last line until
// the rest of it arrives.
type Splitter struct {
	partial []byte
}

// maxLine bounds a line; a longer one is cut so that a guest printing without
// newlines cannot grow memory without bound.
const maxLine = 4096

// Write feeds bytes and returns the complete lines among them.
func (s *Splitter) Write(p []byte) []string {
	var lines []string
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			if len(s.partial) >= maxLine {
				lines = append(lines, string(s.partial))
				s.partial = s.partial[:0]
			}
			break
		}
		s.partial = append(s.partial, p[:i]...)
		lines = append(lines, strings.TrimRight(string(s.partial), "\r"))
		s.partial = s.partial[:0]
		p = p[i+1:]
	}
	return lines
}

// Flush returns the partial last line, if any.
func (s *Splitter) Flush() (string, bool) {
	if len(s.partial) == 0 {
		return "", false
	}
	l := strings.TrimRight(string(s.partial), "\r")
	s.partial = s.partial[:0]
	return l, true
}

// Headline is the line of a kernel report that names it (the
// WARNING:, BUG: or Oops line), with the count of the others; the whole
// report stays in the case's result.
func Headline(lines []string) string {
	head := ""
	for _, l := range lines {
		t := strings.TrimSpace(strings.TrimLeft(l, "<0123456789>"))
		if head == "" && t != "" && !strings.Contains(t, "cut here") {
			head = t
		}
		if _, ok := Classify(t); ok {
			head = t
			break
		}
	}
	if len(lines) > 1 {
		head += fmt.Sprintf(" (+%d more lines in run.json)", len(lines)-1)
	}
	return head
}
