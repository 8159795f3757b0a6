package suites

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patchtest/patchtest/kernels/selftest"
	"github.com/patchtest/patchtest/suites/perf"
)

func TestTAPParser(t *testing.T) {
	out := `TAP version 13
1..5
# [INFO] detected PMD size: 2048 KiB
# [RUN] vmsplice() + unmap in child ... with base page
ok 1 No leak from parent into child
# [RUN] vmsplice() + unmap in child ... with swapped out base page
ok 2 # SKIP MADV_PAGEOUT did not work, is swap enabled?
# [RUN] vmsplice() before fork(), unmap in parent after fork() ... with base page
# Leak from child into parent
not ok 3 No leak from child into parent
#  RUN           tls.12_aes_gcm.sendfile ...
#            OK  tls.12_aes_gcm.sendfile
ok 4 tls.12_aes_gcm.sendfile
    ok 1 nested result, left to its parent
ok 5 tls.13_sm4.splice_to_pipe # XFAIL not on this cipher
`
	p := NewTAPParser()
	for _, l := range strings.Split(out, "\n") {
		p.Line(l)
	}
	if p.Plan != 5 {
		t.Errorf("plan %d, want 5", p.Plan)
	}
	want := []struct{ name, obs string }{
		{"vmsplice() + unmap in child ... with base page", "outcome:ok"},
		{"vmsplice() + unmap in child ... with swapped out base page", "skip:MADV_PAGEOUT did not work, is swap enabled?"},
		{"vmsplice() before fork(), unmap in parent after fork() ... with base page", "outcome:not ok (Leak from child into parent)"},
		{"tls.12_aes_gcm.sendfile", "outcome:ok"},
		{"tls.13_sm4.splice_to_pipe", "outcome:xfail (not on this cipher)"},
	}
	if len(p.Results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(p.Results), len(want), p.Results)
	}
	for i, w := range want {
		if r := p.Results[i]; r.Name != w.name || r.Obs.String() != w.obs {
			t.Errorf("result %d: %q %s, want %q %s", i+1, r.Name, r.Obs, w.name, w.obs)
		}
	}
	if p.Running != "" {
		t.Errorf("running %q after the last result", p.Running)
	}
	// The example result lines of the kernel's
	// Documentation/dev-tools/ktap.rst, and every directive in any case:
	// '#' ends the description.
	for _, tc := range []struct{ line, name, obs string }{
		{"ok 1 test_case_name", "test_case_name", "outcome:ok"},
		{"not ok 1 test_case_name", "test_case_name", "outcome:not ok"},
		{"ok 1 test # SKIP necessary dependency unavailable", "test", "skip:necessary dependency unavailable"},
		{"not ok 1 test # TIMEOUT 30 seconds", "test", "outcome:not ok (timeout 30 seconds)"},
		{"ok 5 check return code # rcode=0", "check return code", "outcome:ok (rcode=0)"},
		{"not ok 2 probe # ERROR cannot open /dev/foo", "probe", "outcome:error (cannot open /dev/foo)"},
		{"not ok 3 x # Timeout", "x", "outcome:not ok (timeout)"},
		{"ok 4 y # Skip", "y", "skip:skipped by the test"},
		{"not ok 5 z # xFail known", "z", "outcome:xfail (known)"},
		{"not ok 6 w # skipped-word is no directive", "w", "outcome:not ok (skipped-word is no directive)"},
		{"ok 7 - dashed name", "dashed name", "outcome:ok"},
		{"ok 8", "test-8", "outcome:ok"},
	} {
		q := NewTAPParser()
		r, ok := q.Line(tc.line)
		if !ok || r.Name != tc.name || r.Obs.String() != tc.obs {
			t.Errorf("%q: %v %q %s, want %q %s", tc.line, ok, r.Name, r.Obs, tc.name, tc.obs)
		}
	}
	p.Line("# [RUN] R/O GUP pin ... with memfd")
	if p.Running != "R/O GUP pin ... with memfd" {
		t.Errorf("running %q", p.Running)
	}
}

func TestSubName(t *testing.T) {
	seen := map[string]int{}
	for _, c := range []struct{ in, want string }{
		{"vmsplice() + unmap in child with mprotect() optimization ... with base page", "vmsplice-unmap-in-child-with-mprotect-optimization-with-base-page"},
		{"tls.12_aes_gcm.sendfile", "tls.12_aes_gcm.sendfile"},
		{"R/O GUP pin on R/O-mapped shared page", "r-o-gup-pin-on-r-o-mapped-shared-page"},
		{"R/O GUP pin on R/O-mapped shared page", "r-o-gup-pin-on-r-o-mapped-shared-page-2"},
		{"???", "unnamed"},
		{"default_file_splice_read.sh", "default_file_splice_read.sh"},
	} {
		got := SubName(c.in, seen)
		if got != c.want {
			t.Errorf("SubName(%q) = %q, want %q", c.in, got, c.want)
		}
		if !idRe.MatchString("peer/kselftest/mm.cow/" + got) {
			t.Errorf("peer/kselftest/mm.cow/%s is not a valid case ID", got)
		}
	}
	if n := SubName(strings.Repeat("abc ", 60), nil); len(n) > 96 {
		t.Errorf("a long name stays %d characters", len(n))
	}
}

func TestStressYAMLAndCollapse(t *testing.T) {
	y := []byte(`---
system-info:
      stress-ng-version: 0.15.06
metrics:
    - stressor: vm-splice
      bogo-ops: 175142
      bogo-ops-per-second-real-time: 175134.108262
      wall-clock-time: 1.000045
      mb-per-sec-vmsplice-rate: 26839.266828
    - stressor: pipe
      bogo-ops: 0
      wall-clock-time: 2.0
...
`)
	ms, err := ParseStressYAML(y)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Stressor != "vm-splice" || ms[0].Values["bogo-ops"] != 175142 || ms[0].Values["mb-per-sec-vmsplice-rate"] != 26839.266828 {
		t.Fatalf("parsed %+v", ms)
	}
	for _, c := range []struct {
		m    StressMetrics
		want string
	}{
		{ms[0], ""},
		{ms[1], "zero bogo operations"},
		{StressMetrics{Values: map[string]float64{"bogo-ops": 12, "wall-clock-time": 0.01}}, "collapsed: its loop ran 0.01 s of 1 s (12 bogo ops)"},
		{StressMetrics{Values: map[string]float64{}}, "no bogo-ops in its metrics"},
	} {
		if got := Collapse(c.m, 1); got != c.want {
			t.Errorf("Collapse(%v) = %q, want %q", c.m.Values, got, c.want)
		}
	}
}

func TestExpand(t *testing.T) {
	ok := Outcome("ok", "")
	r := CaseResult{ID: "peer/kselftest/mm.cow", Obs: &ok, Subs: []SubResult{{Name: "a", Obs: &ok}, {Name: "b", NotRun: "hung here"}}}
	got := r.Expand()
	if len(got) != 3 || got[0].Subs != nil || got[1].ID != "peer/kselftest/mm.cow/a" || got[2].NotRun != "hung here" {
		t.Fatalf("Expand = %+v", got)
	}
}

func TestPeerCasesHidden(t *testing.T) {
	all, _ := Catalogue().Select()
	for _, c := range all {
		if c.Suite() == "peer" {
			t.Fatalf("%s runs without being asked for", c.ID)
		}
	}
	for _, p := range Peers() {
		cs, err := Catalogue().Select(p.Pattern())
		if err != nil || len(cs) == 0 {
			t.Errorf("%s: %d cases, %v", p.Pattern(), len(cs), err)
		}
		for _, c := range cs {
			if q, ok := PeerOf(c.ID); !ok || q.Name != p.Name {
				t.Errorf("%s is not found as %s's", c.ID, p.Name)
			}
		}
		if q, ok := LookupPeer(p.Name); !ok || q.Name != p.Name {
			t.Errorf("LookupPeer(%q) = %v", p.Name, ok)
		}
		for k, b := range p.Related {
			if _, err := Catalogue().Select(p.Prefix() + k); err != nil {
				t.Errorf("%s: Related names %s, which is not a case", p.Name, k)
			}
			if _, ok := perf.Lookup(b); !ok {
				t.Errorf("%s: %s's nearest benchmark %s is not a benchmark", p.Name, k, b)
			}
		}
	}
	if _, ok := LookupPeer("ltp"); ok {
		t.Error("LookupPeer found ltp")
	}
}

// A program that outlives its bound is killed with its whole process
// group, and a TAP program killed in a subtest hangs the case naming it,
// keeping the subtests reported before.
func TestTapRunKilled(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "t.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'TAP version 13'\necho '1..2'\necho '# [RUN] first'\necho 'ok 1 fine'\necho '# [RUN] second ...'\n(sleep 60; echo child) &\nsleep 60\n"), 0o755)
	tt, err := newT()
	if err != nil {
		t.Fatal(err)
	}
	defer tt.end()
	start := time.Now()
	tapRun(tt, program{dir: dir, argv: []string{script}, bound: 500 * time.Millisecond}, map[string]int{})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("killed after %v; the process group's children kept the output open", d)
	}
	if !strings.Contains(tt.hung, "in subtest second") || !strings.Contains(tt.hung, "after 1 result") {
		t.Errorf("hang %q", tt.hung)
	}
	if len(tt.subs) != 2 || tt.subs[0].Name != "first" || tt.subs[0].Obs.Value != "ok" || tt.subs[1].Name != "second" || tt.subs[1].NotRun == "" {
		t.Errorf("subs %+v", tt.subs)
	}
}

func TestTapRunExit(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		script, want string
	}{
		{"echo '1..1'; echo 'ok 1 x'", "outcome:ok"},
		{"echo '1..2'; echo 'ok 1 x'", "outcome:not ok (1 of 2 planned results)"},
		{"echo '1..1'; echo 'not ok 1 x'; exit 1", "outcome:not ok (exit 1)"},
		{"echo '1..0 # SKIP no THP'; exit 4", "skip:the test skipped itself: 1..0 # SKIP no THP"},
	} {
		p := filepath.Join(dir, "t.sh")
		os.WriteFile(p, []byte("#!/bin/sh\n"+c.script+"\n"), 0o755)
		tt, _ := newT()
		got := tapRun(tt, program{dir: dir, argv: []string{p}, bound: 10 * time.Second}, map[string]int{})
		tt.end()
		if got := string(got.Type) + ":" + got.Value; got != c.want {
			t.Errorf("%s: %s, want %s", c.script, got, c.want)
		}
	}
}

func TestHarnessTestName(t *testing.T) {
	l := []string{
		"# FIXTURE           VARIANT                   TEST",
		"tls_basic                                      base_base",
		"tls                  12_aes_gcm                sendfile",
		"                     13_aes_gcm                splice_to_pipe",
		"--------------------------------------------------------------------------------",
		"tls                  12_aes_gcm",
	}
	var got []string
	for _, x := range l {
		if n := harnessTestName(x); n != "" {
			got = append(got, n)
		}
	}
	if strings.Join(got, ",") != "base_base,sendfile,splice_to_pipe" {
		t.Errorf("names %v", got)
	}
}

// Real output from the guest, stock kernel: mm/cow, and net/tls's
// harness listing and its sendfile and splice tests (tls.c with its
// tls_crypto_info_init made to take the fourth argument its callers pass:
// Debian 6.12.117's does not compile; the rekey tests fail for that, and
// the ciphers the guest kernel lacks fail their tests).
func TestTAPRealOutput(t *testing.T) {
	read := func(name string) []string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), "\n")
	}
	cow := NewTAPParser()
	for _, l := range read("cow.txt") {
		cow.Line(l)
	}
	if cow.Plan != 33 || len(cow.Results) != 33 {
		t.Errorf("cow: plan %d, %d results", cow.Plan, len(cow.Results))
	}
	seen := map[string]int{}
	vms := 0
	for _, r := range cow.Results {
		if n := SubName(r.Name, seen); strings.HasPrefix(n, "vmsplice-") {
			vms++
		}
	}
	if vms != 8 || seen["vmsplice-unmap-in-child-with-base-page"] != 1 {
		t.Errorf("cow: %d vmsplice subtests: %v", vms, seen)
	}
	var names []string
	for _, l := range read("tls-list.txt") {
		if n := harnessTestName(l); n != "" && (strings.Contains(n, "sendfile") || strings.Contains(n, "splice")) {
			names = append(names, n)
		}
	}
	if len(names) != 14 || names[0] != "sendfile" {
		t.Errorf("tls -l: %d sendfile/splice tests %v, want 14", len(names), names)
	}
	tls := NewTAPParser()
	ok, notOK := 0, 0
	for _, l := range read("tls-run.txt") {
		if r, done := tls.Line(l); done {
			switch r.Obs.Value {
			case "ok":
				ok++
			case "not ok":
				notOK++
			}
			if r.Name == "tls.12_chacha.sendfile" && r.Obs.Note != "tls.c:383:sendfile:Expected ret (-1) == 0 (0)" {
				t.Errorf("note of a failure: %q", r.Obs.Note)
			}
		}
	}
	if tls.Plan != 182 || ok != 64 || notOK != 118 {
		t.Errorf("tls: plan %d, %d ok, %d not ok; want 182, 64, 118", tls.Plan, ok, notOK)
	}
}

// The guest reads the manifest the host's selftest.Build writes.
func TestKselftestManifest(t *testing.T) {
	dir := t.TempDir()
	m := selftest.Manifest{Key: "k", Failed: map[string]string{"net/tls": "does not build: tls.c:1679:9: error: too many arguments"}}
	b, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, selftest.ManifestFile), b, 0o644)
	got, why := readKselftestManifest(dir)
	if got == nil {
		t.Fatal(why)
	}
	if w := got.Missing("mm/cow", "net/tls"); w != "net/tls is not built: "+m.Failed["net/tls"] {
		t.Errorf("Missing = %q", w)
	}
	if _, why := readKselftestManifest(t.TempDir()); !strings.Contains(why, "--peer kselftest") {
		t.Errorf("no manifest: %q", why)
	}
}

// A program that exits leaving a child that holds its output is done when
// it exits, not hung; the child goes with it.
func TestProgramLeftChild(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	script := filepath.Join(dir, "t.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho ok 1 x\nsleep 60 &\necho $! > "+pidFile+"\nexit 0\n"), 0o755)
	r, err := program{dir: dir, argv: []string{script}, bound: 30 * time.Second}.run()
	if err != nil {
		t.Fatal(err)
	}
	// Waiting for the child would have run into the bound: killed.
	if r.killed || r.code != 0 {
		t.Errorf("ran %+v: want a clean exit without waiting for the child", r)
	}
	if lastLine(r.tail) != "ok 1 x" {
		t.Errorf("output %q", r.tail)
	}
	b, _ := os.ReadFile(pidFile)
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 0 {
		t.Fatalf("the script named no child: %q", b)
	}
	// The kill is sent before run returns; the child is gone (or a
	// zombie of init's) as soon as the kernel has delivered it. Poll,
	// bounded, rather than guess a time.
	alive := func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err == nil && syscall.Kill(pid, 0) == nil && !strings.Contains(string(st), ") Z ")
	}
	for deadline := time.Now().Add(10 * time.Second); alive() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive() {
		t.Errorf("the child %d it left is still running", pid)
	}
}
