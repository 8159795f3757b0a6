package patches

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The series written from the binary are the repository's, byte for
// byte, at the path the built-in configuration names; a second call
// reuses them.
func TestRootMatchesTheRepository(t *testing.T) {
	cache := t.TempDir()
	root, err := Root(cache)
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Glob("vmsplice-wrapper/*")
	if err != nil || len(want) < 3 {
		t.Fatalf("repository series: %v %v", want, err)
	}
	for _, p := range want {
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(root, Dir, p))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: differs or missing (%v)", p, err)
		}
	}
	again, err := Root(cache)
	if err != nil || again != root {
		t.Errorf("second call: %q, %v; want %q", again, err, root)
	}
}
