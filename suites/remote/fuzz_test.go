package remote

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/patchtest/patchtest/suites/fuzz"
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

// A program is kept for what it reached first: a new outcome signature
// or, with KCOV, a new block or edge; a program run before never is.
func TestLearn(t *testing.T) {
	f := &fuzzer{seen: map[string]bool{}, sigs: map[string]bool{}, edges: map[uint32]bool{}}
	g := fuzz.NewGenerator(3)
	tr := fuzz.Trace{"0 pipe2(0, 1, 0) = 0", "1 write(1, 0, 10) = 10"}
	for i, c := range []struct {
		p     fuzz.Prog
		tr    fuzz.Trace
		cover []uint32
		want  bool
	}{
		{g.Generate(), tr, nil, true},                  // first signatures
		{g.Generate(), tr, nil, false},                 // nothing new
		{g.Generate(), tr, []uint32{10, 20}, true},     // new blocks
		{g.Generate(), tr, []uint32{20, 10}, false},    // the same blocks
		{g.Generate(), tr, []uint32{10, 20, 30}, true}, // one new edge
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
