package suites

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// KselftestRoot holds the built selftests (selftest.Build's directory).
const KselftestRoot = PeerRoot + "/kselftest"

// kselftestPeer is the kernel's own selftests for splice, mm/cow and
// net/tls, built on the host from the candidate's source tree.
func kselftestPeer() PeerSuite {
	return PeerSuite{
		Name: "kselftest",
		What: "splice, mm/cow, net/tls, built from the candidate's source tree",
		Host: []HostNeed{
			{Program: "gcc", Package: "gcc", Why: "to build the kselftests"},
			{Program: "libc.a", Package: "libc6-dev", Why: "to build the kselftests statically", Library: true},
		},
		Selftests: true,
		Cases:     kselftestCases,
	}
}

func kselftestCases() []*Case {
	return []*Case{
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
