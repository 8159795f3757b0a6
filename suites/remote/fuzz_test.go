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
