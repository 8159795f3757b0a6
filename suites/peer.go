package suites

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The peer suites are other projects' tests run in the same guests as the
// catalogue: the kernel's own selftests for splice, mm/cow and net/tls,
// built from the candidate's source tree, and stress-ng's pipe and splice
// stressors. Each is one hidden case (peer/kselftest/mm.cow) that runs
// the program under a bound and records every subtest it reports as a
// case of its own (peer/kselftest/mm.cow/vmsplice-unmap-in-child-...).

// PeerRoot is where the host puts the peer suites' files in the guest.
const PeerRoot = "/peer"

// KselftestRoot holds the built selftests (selftest.Build's directory).
const KselftestRoot = PeerRoot + "/kselftest"

// PeerSuites are the peer suites' names, as --peer takes them.
var PeerSuites = []string{"kselftest", "stress-ng"}

// PeerPattern selects a peer suite's cases.
func PeerPattern(suite string) string { return "peer/" + suite + "/*" }

// StressDuration is how long each stress-ng stressor runs.
const StressDuration = time.Second

// StressNGStressors are the stress-ng stressors patchtest runs.
var StressNGStressors = []string{"vm-splice", "splice", "tee", "sendfile", "pipe"}

// killGrace bounds the wait for a killed program to go.
const killGrace = 3 * time.Second

func peerCases() []*Case {
	cs := []*Case{
		{
			ID: "peer/kselftest/splice", Desc: "the kernel's splice selftests: splice from a default file leaks nothing; short splices from /proc, /sys",
			Calls: "tools/testing/selftests/splice: default_file_splice_read.sh, short_splice_read.sh", Pins: "kselftest splice",
			Hidden: true, Timeout: 75 * time.Second, Run: runKselftestSplice,
		},
		{
			ID: "peer/kselftest/mm.cow", Desc: "the kernel's mm/cow selftest, whose vmsplice() cases check that pages pinned by vmsplice never leak a parent's or child's later writes",
			Calls: "tools/testing/selftests/mm/cow", Pins: "kselftest mm/cow",
			Hidden: true, Timeout: 300 * time.Second, Run: runKselftestCow,
		},
		{
			ID: "peer/kselftest/net.tls", Desc: "the kernel's net/tls selftest, its sendfile and splice tests",
			Calls: "tools/testing/selftests/net/tls -t TEST... (every test named *sendfile* or *splice*)", Pins: "kselftest net/tls",
			Hidden: true, Timeout: 500 * time.Second, Needs: []string{"CONFIG_TLS"}, Run: runKselftestTLS,
		},
	}
	for _, s := range StressNGStressors {
		s := s
		cs = append(cs, &Case{
			ID:     "peer/stress-ng/" + s,
			Desc:   "stress-ng's " + s + " stressor with --verify for " + StressDuration.String() + "; zero or collapsed operations are a correctness finding",
			Calls:  fmt.Sprintf("stress-ng --%s 1 -t %ds --verify --metrics -Y", s, int(StressDuration.Seconds())),
			Pins:   "stress-ng " + s,
			Hidden: true, Timeout: StressDuration + 60*time.Second,
			Run: func(t *T) Observation { return runStressNG(t, s) },
		})
	}
	return cs
}

// kselftestManifest is the part of the built selftests' manifest the
// guest reads (kernels/selftest.Manifest writes it; the guest binary
// imports nothing of the host's).
type kselftestManifest struct {
	// Failed maps a program or script that is not there to why.
	Failed map[string]string `json:"failed"`
}

// Missing returns why the first of names is not built, or "".
func (m *kselftestManifest) Missing(names ...string) string {
	for _, n := range names {
		if why, ok := m.Failed[n]; ok {
			return n + " is not built: " + why
		}
	}
	return ""
}

// kselftestsMissing says why the guest lacks one of the built selftests
// names (no --peer kselftest, or they did not build), or "".
func kselftestsMissing(names ...string) string {
	m, why := readKselftestManifest(KselftestRoot)
	if m == nil {
		return why
	}
	return m.Missing(names...)
}

func readKselftestManifest(dir string) (*kselftestManifest, string) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "no kselftests in the guest (run with --peer kselftest)"
		}
		return nil, "kselftests: " + err.Error()
	}
	var m kselftestManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "kselftests: manifest.json: " + err.Error()
	}
	return &m, ""
}

// program is one run of a peer program.
type program struct {
	dir   string
	argv  []string
	bound time.Duration
	// line receives each line of its output (stdout and stderr merged).
	line func(string)
}

// ran is how a program ended.
type ran struct {
	code int
	// killed is set when it outlived its bound and was killed.
	killed bool
	tail   []string
}

// run runs p in its own process group; past its bound the group is
// killed. A program the kernel will not let die (blocked in an
// uninterruptible sleep) keeps run waiting, and the case's own bound
// then calls it hung.
func (p program) run() (ran, error) {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "PATH=/bin:/sbin:/usr/bin:/usr/sbin")
	// A pipe of our own, so that Wait returns when the program exits even
	// if a child it left behind still holds its output.
	pr, pw, err := os.Pipe()
	if err != nil {
		return ran{}, err
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return ran{}, err
	}
	var (
		mu   sync.Mutex
		tail []string
	)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			tail = append(tail, l)
			if len(tail) > 40 {
				tail = tail[1:]
			}
			mu.Unlock()
			if p.line != nil {
				p.line(l)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var r ran
	select {
	case err = <-done:
	case <-time.After(p.bound):
		r.killed = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	// What the program left running in its group goes with it, so that
	// the cases after it find the guest as it was.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-read:
	case <-time.After(killGrace):
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
		err = nil
	}
	mu.Lock()
	r.tail = append(r.tail, tail...)
	mu.Unlock()
	return r, err
}

// exitOutcome is a whole program's outcome by its exit status, as the
// kselftest runner reads it: 0 ok, 4 skip, 2 xfail, else not ok.
func exitOutcome(code int, tail []string) Observation {
	switch code {
	case 0:
		return Outcome("ok", "")
	case 4:
		return Skip("the test skipped itself: " + lastLine(tail))
	case 2:
		return Outcome("xfail", lastLine(tail))
	}
	return Outcome(fmt.Sprintf("not ok (exit %d)", code), lastLine(tail))
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// tapRun runs a kselftest program that writes KTAP and records its
// subtests as they come; a program killed at its bound hangs the case,
// naming the subtest it was in.
func tapRun(t *T, p program, seen map[string]int) Observation {
	tp := NewTAPParser()
	var mu sync.Mutex
	p.line = func(l string) {
		mu.Lock()
		defer mu.Unlock()
		if r, ok := tp.Line(l); ok {
			o := r.Obs
			t.Sub(SubResult{Name: SubName(r.Name, seen), Obs: &o})
		}
	}
	r, err := p.run()
	if err != nil {
		panic(fatal{fmt.Errorf("run %s: %w", p.argv[0], err)})
	}
	mu.Lock()
	defer mu.Unlock()
	if r.killed {
		where := "between subtests"
		if tp.Running != "" {
			where = "in subtest " + tp.Running
			t.Sub(SubResult{Name: SubName(tp.Running, seen), NotRun: "the test program hung here and was killed after " + p.bound.String()})
		}
		t.Hang(fmt.Sprintf("%s did not finish within %v: killed %s, after %d result(s)", filepath.Base(p.argv[0]), p.bound, where, len(tp.Results)))
		return Observation{}
	}
	if tp.Plan >= 0 && len(tp.Results) < tp.Plan && r.code == 0 {
		return Outcome(fmt.Sprintf("not ok (%d of %d planned results)", len(tp.Results), tp.Plan), lastLine(r.tail))
	}
	return exitOutcome(r.code, r.tail)
}

func runKselftestCow(t *T) Observation {
	if why := kselftestsMissing("mm/cow"); why != "" {
		return Skip(why)
	}
	dir := filepath.Join(KselftestRoot, "mm")
	return tapRun(t, program{dir: dir, argv: []string{filepath.Join(dir, "cow")}, bound: 280 * time.Second}, map[string]int{})
}

func runKselftestTLS(t *T) Observation {
	if why := kselftestsMissing("net/tls"); why != "" {
		return Skip(why)
	}
	// A kernel without the TLS ULP fails the harness's fixtures rather
	// than skipping them: say why instead.
	if ulps, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_ulp"); err == nil && !strings.Contains(" "+strings.TrimSpace(string(ulps))+" ", " tls ") {
		return Skip("the kernel has no TLS ULP (CONFIG_TLS): tcp_available_ulp lists " + strings.TrimSpace(string(ulps)))
	}
	dir := filepath.Join(KselftestRoot, "net")
	bin := filepath.Join(dir, "tls")
	// The harness lists its tests with -l (on stderr, in columns); the
	// sendfile and splice ones are run, each name once with -t.
	var names []string
	seenName := map[string]bool{}
	r, err := program{dir: dir, argv: []string{bin, "-l"}, bound: 20 * time.Second, line: func(l string) {
		if n := harnessTestName(l); n != "" && !seenName[n] && (strings.Contains(n, "sendfile") || strings.Contains(n, "splice")) {
			seenName[n] = true
			names = append(names, n)
		}
	}}.run()
	if err != nil {
		panic(fatal{fmt.Errorf("run %s -l: %w", bin, err)})
	}
	if r.killed || len(names) == 0 {
		return Skip(fmt.Sprintf("tls -l listed no sendfile or splice test (exit %d): %s", r.code, lastLine(r.tail)))
	}
	argv := []string{bin}
	for _, n := range names {
		argv = append(argv, "-t", n)
	}
	return tapRun(t, program{dir: dir, argv: argv, bound: 480 * time.Second}, map[string]int{})
}

// harnessTestName is the TEST column of a line of kselftest_harness.h's
// -l listing ("%-20s %-25s %s"), "" for its header and separators.
func harnessTestName(l string) string {
	if len(l) <= 47 || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "---") {
		return ""
	}
	f := strings.Fields(l[47:])
	if len(f) != 1 {
		return ""
	}
	return f[0]
}

// runKselftestSplice runs the splice selftests' two scripts. The first
// passes or fails as a whole; the second prints "TITLE ..." and then "ok:
// TITLE ..." or "FAIL: ..." for each check, each recorded as a subtest.
// The checks on /sys/module/test_module need lib/test_module.c as a module
// (CONFIG_TEST_LKM=m): without it they skip with that reason.
func runKselftestSplice(t *T) Observation {
	if why := kselftestsMissing("splice/default_file_splice_read", "splice/splice_read", "splice/default_file_splice_read.sh", "splice/short_splice_read.sh"); why != "" {
		return Skip(why)
	}
	dir := filepath.Join(KselftestRoot, "splice")
	seen := map[string]int{}
	r, err := program{dir: dir, argv: []string{"/bin/sh", "./default_file_splice_read.sh"}, bound: 20 * time.Second}.run()
	if err != nil {
		panic(fatal{fmt.Errorf("default_file_splice_read.sh: %w", err)})
	}
	if r.killed {
		t.Sub(SubResult{Name: "default_file_splice_read.sh", NotRun: "hung and was killed after 20s"})
		t.Hang("default_file_splice_read.sh did not finish within 20s")
		return Observation{}
	}
	o := exitOutcome(r.code, r.tail)
	t.Sub(SubResult{Name: SubName("default_file_splice_read.sh", seen), Obs: &o})

	sp := &shortSpliceParser{seen: seen, t: t}
	r, err = program{dir: dir, argv: []string{"/bin/sh", "./short_splice_read.sh"}, bound: 40 * time.Second, line: sp.line}.run()
	if err != nil {
		panic(fatal{fmt.Errorf("short_splice_read.sh: %w", err)})
	}
	if r.killed {
		if sp.title != "" {
			t.Sub(SubResult{Name: SubName(sp.title, seen), NotRun: "short_splice_read.sh hung here and was killed after 40s"})
		}
		t.Hang("short_splice_read.sh did not finish within 40s, in check " + sp.title)
		return Observation{}
	}
	if sp.noModule {
		// Its exit status counts the checks that need the module.
		return Outcome("ok", fmt.Sprintf("short_splice_read.sh exit %d: its test_module checks skip", r.code))
	}
	if r.code != 0 {
		return Outcome(fmt.Sprintf("not ok (short_splice_read.sh exit %d)", r.code), lastLine(r.tail))
	}
	return Outcome("ok", "")
}

// shortSpliceParser reads short_splice_read.sh's report.
type shortSpliceParser struct {
	t        *T
	seen     map[string]int
	title    string
	noModule bool
	mu       sync.Mutex
}

func (p *shortSpliceParser) line(l string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case strings.HasSuffix(l, " ...") && !strings.HasPrefix(l, " "):
		p.title = strings.TrimSuffix(l, " ...")
	case p.title != "" && (strings.HasPrefix(l, "ok: ") || strings.HasPrefix(l, "FAIL: ")):
		ok := strings.HasPrefix(l, "ok: ")
		var o Observation
		switch {
		case strings.Contains(p.title, "test_module") && !ok:
			p.noModule = true
			o = Skip("needs lib/test_module.c as a module (CONFIG_TEST_LKM=m) in the guest")
		case strings.HasPrefix(p.title, "kernfs") && p.noModule:
			o = Skip("needs /sys/module/test_module (CONFIG_TEST_LKM=m)")
		case ok:
			o = Outcome("ok", strings.TrimPrefix(l, "ok: "))
		default:
			o = Outcome("not ok", strings.TrimPrefix(l, "FAIL: "))
		}
		p.t.Sub(SubResult{Name: SubName(p.title, p.seen), Obs: &o})
		p.title = ""
	}
}
