package remote

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchtest/patchtest/suites/fuzz"
)

// loadCorpus reads a corpus file (one program per line); none, or a
// file that cannot be read, is an empty corpus.
func loadCorpus(path string) []fuzz.Prog {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []fuzz.Prog
	for _, l := range strings.Split(string(b), "\n") {
		var p fuzz.Prog
		if json.Unmarshal([]byte(l), &p) == nil && p.Check() == nil && len(p.Calls) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// saveCorpus writes the corpus, each program once, the newest kept when
// it outgrows corpusMax.
func saveCorpus(path string, corpus []fuzz.Prog) error {
	if path == "" {
		return nil
	}
	seen := map[string]bool{}
	var lines []string
	for i := len(corpus) - 1; i >= 0 && len(lines) < corpusMax; i-- {
		if h := corpus[i].Hash(); !seen[h] {
			seen[h] = true
			b, _ := json.Marshal(corpus[i])
			lines = append(lines, string(b))
		}
	}
	slices.Reverse(lines)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
