package remote

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/suites/fuzz"
	"github.com/patchtest/patchtest/vm"
)

// The corpus keeps each program once, survives a round trip, drops
// lines that are not programs, and a missing file is an empty corpus.
func TestCorpusRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fuzz", "corpus.jsonl")
	if got := loadCorpus(path); len(got) != 0 {
		t.Fatalf("missing file: %d programs", len(got))
	}
	g := fuzz.NewGenerator(1)
	a, b := g.Generate(), g.Generate()
	if err := saveCorpus(path, []fuzz.Prog{a, b, a}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"calls":[{"op":"nosuch","args":[]}]}` + "\n" + "not json\n")
	f.Close()
	got := loadCorpus(path)
	if len(got) != 2 || got[0].Hash() != b.Hash() || got[1].Hash() != a.Hash() {
		t.Errorf("loaded %d programs: %v", len(got), got)
	}
}

// A program is kept for what it reached first: a new feature (a call's
// descriptors' states and outcome) or, with KCOV, a new block or edge; a
// program run before never is.
func TestLearn(t *testing.T) {
	f := &fuzzer{seen: map[string]bool{}, sigs: map[string]bool{}, edges: map[uint32]bool{}}
	prog := func(n int64) fuzz.Prog { // the same features, a different program for each n
		return fuzz.Prog{Calls: []fuzz.Call{{Op: "pipe2", Args: []int64{0, 1, 0}}, {Op: "write", Args: []int64{1, n}}}}
	}
	tr := fuzz.Trace{"0 pipe2(r0, r1, 0) = 0", "1 write(r1, 10) = 10"}
	hung := fuzz.Prog{Calls: []fuzz.Call{{Op: "pipe2", Args: []int64{0, 1, 0}}, {Op: "close", Args: []int64{0}}, {Op: "write", Args: []int64{1, 10}}}}
	hungTr := fuzz.Trace{"0 pipe2(r0, r1, 0) = 0", "1 close(r0) = 0", "2 write(r1, 10) = -1 EPIPE sig=PIPE"}
	for i, c := range []struct {
		p     fuzz.Prog
		tr    fuzz.Trace
		cover []uint32
		want  bool
	}{
		{prog(10), tr, nil, true},                  // first features
		{prog(11), tr, nil, false},                 // nothing new
		{prog(12), tr, []uint32{10, 20}, true},     // new blocks
		{prog(13), tr, []uint32{20, 10}, false},    // the same blocks
		{prog(14), tr, []uint32{10, 20, 30}, true}, // one new edge
		{hung, hungTr, nil, true},                  // a write to a pipe without readers
	} {
		if got := f.learn(c.p, c.tr, c.cover); got != c.want {
			t.Errorf("program %d: learn = %v, want %v", i, got, c.want)
		}
		if f.learn(c.p, c.tr, []uint32{99 + uint32(i)}) {
			t.Errorf("program %d: learnt again when run again", i)
		}
	}
	if len(f.edges) != 3 {
		t.Errorf("edges = %v, want 10, 20, 30", f.edges)
	}
}

// A program that lost both guests is the kernel's fault only where a
// kernel reported one (the candidate's first); otherwise it is the
// fuzzer's, a harness error naming the program, never a finding.
func TestBothLost(t *testing.T) {
	p := fuzz.Prog{Calls: []fuzz.Call{{Op: "memfd", Args: []int64{1, 1}}, {Op: "sendfile", Args: []int64{1, 1, 0, 1 << 31}}}}
	lost := &vm.Error{Outcome: vm.BootFailed, Msg: "guest init: agent exited (signal killed)"}
	panicked := &vm.Error{Outcome: vm.KernelPanic, Msg: "Kernel panic"}
	stopped := &vm.Error{Outcome: vm.Interrupted, Msg: "interrupted"}
	for _, c := range []struct {
		name     string
		errs     [2]error
		side     int // the fuzzErr's side; -1 for a harness error
		infraMsg string
	}{
		{"both killed, no report", [2]error{lost, lost}, -1, "sendfile(r1, r1, &0, 2147483648)"},
		{"the baseline panicked", [2]error{panicked, lost}, 0, ""},
		{"both panicked", [2]error{panicked, panicked}, 1, ""},
		{"interrupted", [2]error{stopped, lost}, -1, "interrupted"},
	} {
		err := bothLost(p, c.errs)
		var fe *fuzzErr
		var ve *vm.Error
		switch {
		case c.side >= 0:
			if !errors.As(err, &fe) || fe.side != c.side {
				t.Errorf("%s: %v, want the kernel's fault on side %d", c.name, err, c.side)
			}
		case errors.As(err, &fe):
			t.Errorf("%s: a kernel's fault (side %d), want the harness's", c.name, fe.side)
		case !errors.As(err, &ve) || !strings.Contains(err.Error(), c.infraMsg):
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.infraMsg)
		}
	}
}

// The corpus replays first, in an order of the seed's, for at most half
// the budget; then the fuzzer makes programs of its own.
func TestReplayBounded(t *testing.T) {
	g := fuzz.NewGenerator(1)
	corpus := []fuzz.Prog{g.Generate(), g.Generate(), g.Generate(), g.Generate()}
	f := &fuzzer{o: FuzzOptions{Duration: time.Minute}, gen: fuzz.NewGenerator(2), replay: len(corpus), order: []int{2, 0, 3, 1}}
	if p := f.next(0, corpus); p.Hash() != corpus[2].Hash() {
		t.Errorf("program 0 is not the corpus's program 2")
	}
	f.endReplay(1, 29*time.Second)
	if f.replay != 4 {
		t.Fatalf("replay ended at %d before half the budget", f.replay)
	}
	f.endReplay(1, 30*time.Second)
	if f.replay != 1 {
		t.Fatalf("replay = %d after half the budget, want 1", f.replay)
	}
	for i := 1; i < 4; i++ {
		if p := f.next(i, corpus); p.Hash() == corpus[f.order[i]].Hash() {
			t.Errorf("program %d still replays the corpus", i)
		}
	}
}
