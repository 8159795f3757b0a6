package pipeline

import (
	"os/exec"
	"testing"
)

// A bisect step's child that ends any way but 0 or 1 (a panic on another
// goroutine exits 2, which git reads as bad; a signal; 124 or 137) is a
// skip, never bad; 0 and 1 pass through.
func TestBisectCode(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", BisectGood},
		{"exit 1", BisectBad},
		{"exit 2", BisectSkip},
		{"exit 124", BisectSkip},
		{"exit 137", BisectSkip},
		{"exit 125", BisectSkip}, // passes through, silently
		{"kill -SEGV $$", BisectSkip},
		{"kill -KILL $$", BisectSkip},
	} {
		cmd := exec.Command("sh", "-c", tc.script)
		err := cmd.Run()
		if got := bisectCode(cmd.ProcessState, err); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.script, got, tc.want)
		}
	}
	if got := bisectCode(nil, exec.ErrNotFound); got != BisectSkip {
		t.Errorf("no child: %d, want %d", got, BisectSkip)
	}
}
