package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// The peer suites on stock against the reference series: the kselftests
// are built from the candidate's own tree, every peer case and every
// subtest one kernel reports has a result on the other too, mm/cow's
// vmsplice subtests are in the report, and stress-ng's stressors did
// work on both kernels (none collapsed, none reported a failure).
func TestIntegrationPeer(t *testing.T) {
	series := filepath.Join("..", "..", "..", "kernels", "patches", "vmsplice-wrapper")
	start := time.Now()
	rec, _ := peerRun(t, configs.KernelSpec{Source: "debian:6.12", Patches: series}, filepath.Join(series, "expect.yaml"),
		[]string{"vmsplice/alias/read"}, suites.PeerNames())
	peers, _ := suites.Catalogue().Select("peer/*")
	for _, side := range []*results.KernelResult{&rec.Baseline, &rec.Candidate} {
		var peerTime time.Duration
		for _, r := range side.Run.Results {
			if strings.HasPrefix(r.ID, results.PeerPrefix) {
				peerTime += r.Duration
			}
		}
		t.Logf("%s: peer cases took %v of guest time", side.Role, peerTime.Round(time.Millisecond))
	}
	b, c := byID(rec.Baseline.Run.Results), byID(rec.Candidate.Run.Results)
	for _, p := range peers {
		for _, m := range []map[string]bool{b, c} {
			if !m[p.ID] {
				t.Errorf("%s has no result on a kernel", p.ID)
			}
		}
	}
	subs := 0
	for id := range b {
		if strings.HasPrefix(id, results.PeerPrefix) && !c[id] {
			t.Errorf("%s ran on the baseline only", id)
		}
		if strings.Count(id, "/") == 3 && strings.HasPrefix(id, results.PeerPrefix) {
			subs++
		}
	}
	for id := range c {
		if strings.HasPrefix(id, results.PeerPrefix) && !b[id] {
			t.Errorf("%s ran on the candidate only", id)
		}
	}
	cow := 0
	for _, r := range rec.PeerFocus() {
		if strings.HasPrefix(r.ID, "peer/kselftest/mm.cow/vmsplice") {
			cow++
		}
	}
	if cow == 0 {
		t.Error("no mm/cow vmsplice subtest in the report")
	}
	for _, side := range []*results.KernelResult{&rec.Baseline, &rec.Candidate} {
		for _, r := range side.Run.Results {
			if strings.HasPrefix(r.ID, "peer/stress-ng/") && (len(r.Invariant) > 0 || r.Error != "") {
				t.Errorf("%s on %s: %v %s", r.ID, side.Role, r.Invariant, r.Error)
			}
			if strings.HasPrefix(r.ID, "peer/kselftest/mm.cow/vmsplice") && r.Obs != nil && r.Obs.Type == suites.TOutcome && r.Obs.Value != "ok" {
				t.Errorf("%s on %s: %s", r.ID, side.Role, r.Obs)
			}
		}
	}
	// Every stressor has figures, and did work, on both kernels (a row
	// count could be filled by one stressor's metrics).
	for _, s := range suites.StressNGStressors {
		rows := 0
		for _, f := range rec.PeerFigures() {
			if f.Suite == "stress-ng" && f.Case == s {
				rows++
				if f.Baseline <= 0 || f.Candidate <= 0 {
					t.Errorf("stress-ng %s %s: %v on the baseline, %v on the candidate", s, f.Metric, f.Baseline, f.Candidate)
				}
			}
		}
		if rows == 0 {
			t.Errorf("stress-ng %s: no figures", s)
		}
	}
	if err := schema.Record(rec); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
	for f, want := range map[string]string{"report.md": "Their vmsplice subtests", "report.html": `id="peer-table"`, "kcidb.json": "patchtest.peer.kselftest.mm.cow.vmsplice", "junit.xml": "peer/kselftest/mm.cow/vmsplice"} {
		bs, err := os.ReadFile(filepath.Join(rec.Dir, f))
		if err != nil || !strings.Contains(string(bs), want) {
			t.Errorf("%s lacks %q: %v", f, want, err)
		}
	}
	t.Logf("%d peer subtests on each kernel; run took %v", subs, time.Since(start).Round(time.Second))
}

// peerRun runs stock against candidate with the peer suites peer and the
// cases patterns, and returns the record and the candidate's results by ID.
func peerRun(t *testing.T, candidate configs.KernelSpec, expect string, patterns, peer []string) (*results.Record, map[string]suites.CaseResult) {
	t.Helper()
	vmtest.Integration(t)
	if slices.Contains(peer, "stress-ng") {
		vmtest.Program(t, setup.Need{Program: "stress-ng", Package: "stress-ng", Why: "the stress-ng peer suite"})
	}
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	rec, err := Execute(ctx, Options{
		Baseline:  configs.KernelSpec{Source: "debian:6.12"},
		Candidate: candidate,
		Expect:    expect,
		Patterns:  patterns,
		Peer:      peer,
		Boot:      vm.BootOptions{GuestBinary: agent, CacheDir: cache},
		CacheDir:  cache,
		OutDir:    t.TempDir(),
		Events:    func(e results.Event) { t.Log(e) },
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("report:\n%s", rec.Markdown())
	got := map[string]suites.CaseResult{}
	for _, r := range rec.Candidate.Run.Results {
		got[r.ID] = r
	}
	return rec, got
}

func byID(rs []suites.CaseResult) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		m[r.ID] = true
	}
	return m
}

// A kernel that panics in every vmsplice(): the peer cases that call it
// (mm/cow, stress-ng's vm-splice) are charged the crash like any case,
// the guest boots again and the other peer cases still run; the
// subtests mm/cow never reached are not comparable, not changes.
func TestIntegrationPeerCrash(t *testing.T) {
	rec, got := peerRun(t, configs.KernelSpec{Source: "debian:6.12", Patches: filepath.Join("testdata", "faults", "panicall")}, "",
		[]string{"peer/*"}, suites.PeerNames())
	for _, id := range []string{"peer/kselftest/mm.cow", "peer/stress-ng/vm-splice"} {
		if got[id].Crash == "" {
			t.Errorf("%s: %+v, want the crash charged to it", id, got[id])
		}
	}
	for _, id := range []string{"peer/kselftest/splice", "peer/stress-ng/pipe", "peer/stress-ng/sendfile"} {
		if r := got[id]; r.Obs == nil || r.Obs.Value != "ok" {
			t.Errorf("%s after the crashes: %+v", id, r)
		}
	}
	nc := 0
	for _, c := range rec.NotComparable {
		if strings.HasPrefix(c.ID, "peer/kselftest/mm.cow/") && strings.Contains(c.Why, "did not finish") {
			nc++
		}
	}
	if nc == 0 {
		t.Error("mm/cow's subtests missing on the candidate are not listed as not comparable")
	}
	for _, c := range rec.Changes {
		if strings.HasPrefix(c.ID, "peer/kselftest/mm.cow/") {
			t.Errorf("a subtest behind the crash is a change: %v", c)
		}
	}
	if !rec.Failed() {
		t.Error("the run did not fail")
	}
	if err := schema.Record(rec); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
}

// A kernel on which only a peer test hangs (a 1 GiB splice, which the
// splice selftests' default_file_splice_read asks for, sleeps until
// killed): the program is killed at its bound, the peer case is hung with
// the kernel's evidence like any case, the subtest it was in is named,
// and the peer cases after it run in a fresh guest.
func TestIntegrationPeerHang(t *testing.T) {
	rec, got := peerRun(t, configs.KernelSpec{Source: "debian:6.12", Patches: filepath.Join("testdata", "faults", "splicegib")}, "",
		[]string{"peer/kselftest/*"}, []string{"kselftest"})
	sp := got["peer/kselftest/splice"]
	if !sp.Hung() || !strings.Contains(sp.Error, "default_file_splice_read.sh") || sp.Hang == "" {
		t.Errorf("peer/kselftest/splice: %+v, want hung in default_file_splice_read.sh with evidence", sp)
	}
	if r := got["peer/kselftest/splice/default_file_splice_read.sh"]; !strings.Contains(r.NotRun, "hung") {
		t.Errorf("the subtest it hung in: %+v", r)
	}
	if r := got["peer/kselftest/mm.cow"]; r.Obs == nil || r.Obs.Value != "ok" {
		t.Errorf("mm/cow after the hang: %+v", r)
	}
	if len(rec.Candidate.Run.Boots) < 2 || len(rec.Candidate.Summary.Hangs) != 1 {
		t.Errorf("%d boots, hangs %v: want a fresh guest after the one hang", len(rec.Candidate.Run.Boots), rec.Candidate.Summary.Hangs)
	}
	if r := byID(rec.Baseline.Run.Results); !r["peer/kselftest/splice/default_file_splice_read.sh"] {
		t.Error("the baseline did not run default_file_splice_read.sh")
	}
	if !rec.Failed() {
		t.Error("the run did not fail")
	}
}
