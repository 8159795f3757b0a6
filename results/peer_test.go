package results

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
)

func peerRecord() *Record {
	ok, notOK, skip := suites.Outcome("ok", ""), suites.Outcome("not ok", "leak"), suites.Skip("no swap")
	base := []suites.CaseResult{
		{ID: "vmsplice/alias/read", Obs: obs(suites.TAliasing, "aliased")},
		{ID: "peer/kselftest/mm.cow", Obs: &ok},
		{ID: "peer/kselftest/mm.cow/vmsplice-unmap-in-child-with-base-page", Obs: &ok},
		{ID: "peer/kselftest/mm.cow/vmsplice-unmap-in-child-with-swapped-out-base-page", Obs: &skip},
		{ID: "peer/kselftest/mm.cow/basic-cow-after-fork-with-base-page", Obs: &ok},
		{ID: "peer/stress-ng/vm-splice", Obs: &ok, Metrics: map[string]float64{"bogo-ops-per-second-real-time": 3000, "mb-per-sec-vmsplice-rate": 1200, "wall-clock-time": 2}},
	}
	cand := []suites.CaseResult{
		{ID: "vmsplice/alias/read", Obs: obs(suites.TAliasing, "copied")},
		{ID: "peer/kselftest/mm.cow", Obs: &notOK},
		{ID: "peer/kselftest/mm.cow/vmsplice-unmap-in-child-with-base-page", Obs: &notOK},
		{ID: "peer/kselftest/mm.cow/vmsplice-unmap-in-child-with-swapped-out-base-page", Obs: &skip},
		{ID: "peer/kselftest/mm.cow/basic-cow-after-fork-with-base-page", Obs: &ok},
		{ID: "peer/stress-ng/vm-splice", Obs: &ok, Metrics: map[string]float64{"bogo-ops-per-second-real-time": 1500, "mb-per-sec-vmsplice-rate": 150, "wall-clock-time": 2}},
	}
	r := &Record{ID: "20261202T000000Z", Schema: SchemaVersion,
		Baseline:  KernelResult{Role: runs.Baseline, BzImage: "/k/stock", Run: &runs.Suite{Results: base}},
		Candidate: KernelResult{Role: runs.Candidate, BzImage: "/k/patched", Run: &runs.Suite{Results: cand}},
	}
	r.Changes = Diff(base, cand)
	r.Perf = &PerfResult{Changes: []PerfChange{{Bench: "vmsplice/pipe-devnull/64KiB", Metric: "B/s", ChangePct: -48.2, P: 0.001, Verdict: PerfRegression}}}
	return r
}

func TestPeerReport(t *testing.T) {
	r := peerRecord()
	ps := r.Peers()
	if len(ps) != 2 || ps[0].ID != "peer/kselftest/mm.cow" || ps[0].Changed != 2 || ps[0].Candidate.Tally() != "1 not ok, 1 ok, 1 skip" || ps[1].Changed != 0 {
		t.Fatalf("Peers = %+v", ps)
	}
	focus := r.PeerFocus()
	if len(focus) != 2 || focus[0].ID != "peer/kselftest/mm.cow/vmsplice-unmap-in-child-with-base-page" || focus[0].Candidate != "outcome:not ok" {
		t.Fatalf("PeerFocus = %+v", focus)
	}
	rows := r.PeerFigures()
	if len(rows) != 2 || rows[0].Metric != "bogo-ops-per-second-real-time" || rows[0].ChangePct != -50 || !strings.Contains(rows[0].BenchChange, "-48.2 %") {
		t.Fatalf("PeerFigures = %+v", rows)
	}
	r.Perf = nil // the benchmarks' own section is tested elsewhere
	md := r.Markdown()
	for _, want := range []string{"Peer suites", "peer/kselftest/mm.cow: 2 change(s)", "kselftest/mm.cow/vmsplice-unmap-in-child-with-base-page\n      outcome:ok -> outcome:not ok", "  vm-splice:\n      bogo-ops-per-second-real-time: 3000 -> 1500 (-50.0 %)\n      mb-per-sec-vmsplice-rate: 1200 -> 150 (-87.5 %)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	h, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="peer-table"`, `id="peer-vmsplice"`, `id="peer-figures"`} {
		if !strings.Contains(string(h), want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	b, _ := json.Marshal(r)
	if err := schema.ValidateRun(b); err != nil {
		t.Errorf("a record with peer cases does not validate: %v", err)
	}
}

func TestKCIDBPeerPaths(t *testing.T) {
	r := peerRecord()
	r.Perf = nil
	b, err := r.KCIDBJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateKCIDB(b); err != nil {
		t.Fatal(err)
	}
	var d KCIDBData
	json.Unmarshal(b, &d)
	paths := map[string]string{}
	for _, x := range d.Tests {
		if strings.HasSuffix(x.BuildID, runs.Candidate) {
			paths[x.Path] = x.Status
		}
	}
	if s := paths["patchtest.peer.kselftest.mm.cow.vmsplice-unmap-in-child-with-base-page"]; s != KCIDBFail {
		t.Errorf("mm/cow vmsplice subtest: %q in %v", s, paths)
	}
	if s := paths["patchtest.peer.kselftest.mm.cow.vmsplice-unmap-in-child-with-swapped-out-base-page"]; s != KCIDBSkip {
		t.Errorf("skipped subtest: %q", s)
	}
}

// A subtest missing on one side because its peer case hung there is not
// comparable; one missing from a case that finished is a change.
func TestDiffUnfinishedPeer(t *testing.T) {
	ok := suites.Outcome("ok", "")
	base := []suites.CaseResult{{ID: "peer/k/t", Obs: &ok}, {ID: "peer/k/t/a", Obs: &ok}, {ID: "peer/k/t/b", Obs: &ok}, {ID: "peer/k/u", Obs: &ok}, {ID: "peer/k/u/a", Obs: &ok}}
	cand := []suites.CaseResult{{ID: "peer/k/t", Error: "hung: cow did not finish"}, {ID: "peer/k/t/a", Obs: &ok}, {ID: "peer/k/u", Obs: &ok}}
	ch := Diff(base, cand)
	if len(ch) != 2 || ch[0].ID != "peer/k/t" || ch[1].ID != "peer/k/u/a" || ch[1].To != "missing" {
		t.Errorf("Diff = %v", ch)
	}
	nc := NotComparable(base, cand)
	if len(nc) != 1 || nc[0].ID != "peer/k/t/b" || !strings.Contains(nc[0].Why, "peer/k/t did not finish") {
		t.Errorf("NotComparable = %v", nc)
	}
}

func TestExpectPeerPatterns(t *testing.T) {
	cat := suites.Catalogue()
	for _, c := range []struct {
		pattern string
		ok      bool
	}{
		{"peer/kselftest/mm.cow/vmsplice-*", true},
		{"peer/kselftest/mm.cow", true},
		{"peer/stress-ng/*", true},
		{"peer/kselftest/nosuch/x", false},
		{"vmsplice/nosuch/*", false},
	} {
		err := (&Expect{Changes: []Expectation{{Cases: c.pattern}}}).CheckCatalogue(cat)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.pattern, err)
		}
	}
}
