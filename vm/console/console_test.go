package console

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		line string
		kind Kind
		ok   bool
	}{
		{"[    2.345678] Kernel panic - not syncing: sysrq triggered crash", Panic, true},
		{"[    1.000000][    T1] Kernel panic - not syncing: VFS: Unable to mount root fs", Panic, true},
		{"[   10.1] BUG: kernel NULL pointer dereference, address: 0000000000000000", Bug, true},
		{"[   10.1] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2", KASAN, true},
		{"[   10.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [a:1]", SoftLockup, true},
		{"[   10.1] kernel BUG at mm/slub.c:123!", Bug, true},
		{"[   10.1] Oops: 0002 [#1] PREEMPT SMP NOPTI", Oops, true},
		{"[   10.1] Oops: general protection fault, probably for non-canonical address", GPF, true},
		{"[   10.1] general protection fault: 0000 [#1] SMP", GPF, true},
		{"[   10.1] WARNING: CPU: 0 PID: 77 at fs/splice.c:100 splice_foo+0x10/0x20", Warning, true},
		{"[   10.1] WARNING: possible circular locking dependency detected", Lockdep, true},
		{"[   10.1] UBSAN: array-index-out-of-bounds in fs/pipe.c:12:3", UBSAN, true},
		{"[  120.1] INFO: task vmsplice:81 blocked for more than 120 seconds.", HungTask, true},
		{"[   30.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", RCUStall, true},
		{"[   30.1] rcu: INFO: rcu_sched self-detected stall on CPU", RCUStall, true},
		{"[    0.1] Linux version 6.12.0 (gcc 12)", "", false},
		{"[    0.1] ACPI BIOS Warning (bug): Incorrect checksum", "", false},
		{"[    0.1] this is not a BUG: really", "", false},
		{"patchtest-init: WARNING: nothing", "", false},
	}
	for _, tt := range tests {
		kind, ok := Classify(tt.line)
		if ok != tt.ok || kind != tt.kind {
			t.Errorf("Classify(%q) = %q, %v; want %q, %v", tt.line, kind, ok, tt.kind, tt.ok)
		}
	}
}

// warnSplat is shaped like a 6.12 WARN_ON() on the console (written for this
// test, not taken from a real log).
const warnSplat = `[    5.000001] some earlier line 1
[    5.000002] some earlier line 2
[    5.100000] ------------[ cut here ]------------
[    5.100001] WARNING: CPU: 0 PID: 90 at fs/pipe.c:42 pipe_write+0x1/0x2
[    5.100002] Modules linked in:
[    5.100003] CPU: 0 UID: 0 PID: 90 Comm: agent Not tainted 6.12.0 #1
[    5.100004] RIP: 0010:pipe_write+0x1/0x2
[    5.100005] Call Trace:
[    5.100006]  <TASK>
[    5.100007]  vfs_write+0x1/0x2
[    5.100008]  </TASK>
[    5.100009] ---[ end trace 0000000000000000 ]---
[    5.200000] an unrelated line afterwards
`

func TestDetectorWarning(t *testing.T) {
	var d Detector
	var started []*Report
	for _, l := range strings.Split(strings.TrimSuffix(warnSplat, "\n"), "\n") {
		if r := d.Line(l); r != nil {
			started = append(started, r)
		}
	}
	if len(started) != 1 || started[0].Kind != Warning {
		t.Fatalf("started = %+v, want one warning", started)
	}
	reps := d.Reports()
	if len(reps) != 1 {
		t.Fatalf("got %d reports, want 1", len(reps))
	}
	r := reps[0]
	if !r.Complete {
		t.Error("report not marked complete after the end marker")
	}
	if r.Line != 4 {
		t.Errorf("report line = %d, want 4", r.Line)
	}
	if !strings.HasPrefix(r.Title, "WARNING: CPU: 0 PID: 90 at fs/pipe.c:42") {
		t.Errorf("title = %q", r.Title)
	}
	if got := r.Lines[len(r.Lines)-1]; !strings.Contains(got, "end trace") {
		t.Errorf("last line = %q, want the end marker", got)
	}
	if !strings.Contains(r.Lines[0], "some earlier line") || !strings.Contains(strings.Join(r.Lines, "\n"), "cut here") {
		t.Errorf("context before the title is missing: %q", r.Lines[:3])
	}
	for _, l := range r.Lines {
		if strings.Contains(l, "unrelated") {
			t.Error("a line after the end marker was taken into the report")
		}
	}
}

func TestDetectorOopsThenPanic(t *testing.T) {
	var d Detector
	d.Ignore = []string{"patchtest-init: "}
	lines := []string{
		"[ 9.0] sysrq: Trigger a crash",
		"[ 9.1] BUG: kernel NULL pointer dereference, address: 0000000000000000",
		"[ 9.2] Oops: 0002 [#1] PREEMPT SMP NOPTI",
		"[ 9.3] RIP: 0010:sysrq_handle_crash+0x16/0x20",
		"[ 9.4] Kernel panic - not syncing: Fatal exception",
		"[ 9.5] Kernel Offset: disabled",
	}
	var kinds []Kind
	for _, l := range lines {
		if r := d.Line(l); r != nil {
			kinds = append(kinds, r.Kind)
		}
	}
	want := []Kind{Bug, Oops, Panic}
	if strings.Join(kindStrings(kinds), ",") != strings.Join(kindStrings(want), ",") {
		t.Fatalf("kinds = %v, want %v", kinds, want)
	}
	reps := d.Reports()
	if len(reps) != 3 || reps[2].Complete || !reps[2].Kind.Fatal() {
		t.Fatalf("reports = %+v", reps)
	}
	if last := reps[2].Lines[len(reps[2].Lines)-1]; !strings.Contains(last, "Kernel Offset") {
		t.Errorf("open report did not collect following lines: %q", reps[2].Lines)
	}
	// An init line closes the open report and is never part of one.
	d.Line("patchtest-init: FATAL: x")
	if d.open != nil {
		t.Error("init line did not close the open report")
	}
}

func kindStrings(ks []Kind) []string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return s
}

func TestSplitterAcrossReads(t *testing.T) {
	var s Splitter
	var got []string
	for _, chunk := range []string{"[ 1.0] Kernel pa", "nic - not sync", "ing: x\r\n[ 1.1] next", " line\nparti", "al"} {
		got = append(got, s.Write([]byte(chunk))...)
	}
	want := []string{"[ 1.0] Kernel panic - not syncing: x", "[ 1.1] next line"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines = %q, want %q", got, want)
	}
	if l, ok := s.Flush(); !ok || l != "partial" {
		t.Errorf("Flush = %q, %v", l, ok)
	}
	if _, ok := s.Flush(); ok {
		t.Error("second Flush returned a line")
	}
	// A line with no newline is cut at maxLine rather than held forever.
	long := strings.Repeat("x", maxLine+10)
	if lines := s.Write([]byte(long)); len(lines) != 1 || len(lines[0]) < maxLine {
		t.Errorf("over-long line not cut: %d lines", len(lines))
	}
}

func TestDetectorReportLengthBound(t *testing.T) {
	var d Detector
	d.Line("[ 1.0] BUG: soft lockup - CPU#0 stuck for 22s!")
	for i := 0; i < maxReportLines*2; i++ {
		d.Line("[ 1.1] stack line")
	}
	reps := d.Reports()
	if len(reps) != 1 || len(reps[0].Lines) != maxReportLines {
		t.Fatalf("got %d reports, first with %d lines; want 1 with %d", len(reps), len(reps[0].Lines), maxReportLines)
	}
}

// A kernel log's headline is the line the console's recogniser names as
// a report's start, whatever came before it.
func TestHeadline(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"<4> ------------[ cut here ]------------", "<4> WARNING: CPU: 0 PID: 42 at fs/read_write.c:1362 do_sendfile+0x10a/0x250", "<4> Modules linked in:"},
			"WARNING: CPU: 0 PID: 42 at fs/read_write.c:1362 do_sendfile+0x10a/0x250 (+2 more lines in run.json)"},
		{[]string{"<3> INFO: task init:38 blocked for more than 5 seconds."}, "INFO: task init:38 blocked for more than 5 seconds."},
		{[]string{"<1> BUG: kernel NULL pointer dereference, address: 0000000000000000", "<1> #PF: supervisor write access in kernel mode"},
			"BUG: kernel NULL pointer dereference, address: 0000000000000000 (+1 more lines in run.json)"},
		{[]string{"<4> something odd", "<4> more"}, "something odd (+1 more lines in run.json)"},
	} {
		if got := Headline(tc.lines); got != tc.want {
			t.Errorf("Headline(%q) = %q\nwant %q", tc.lines, got, tc.want)
		}
	}
}
