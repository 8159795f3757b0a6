package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/vmtest"
)

// Four nights of a local repository of the Debian source: the base; a
// commit that makes vmsplice into a pipe copy (new, with its window, exit
// 1); an unrelated commit (still present, first seen the night before, exit
// 0); the change reverted (fixed, exit 0). The index's history of
// vmsplice/alias/read agrees night by night.
func TestCLINightly(t *testing.T) {
	vmtest.Integration(t)
	agent := vmtest.Guest(t)
	repo, git := vmtest.KernelRepo(t)
	out, tmp := t.TempDir(), t.TempDir()
	night := func(wantCode int, want ...string) string {
		t.Helper()
		cmd, stdout, stderr := command(t, tmp, "nightly", "--source", "git:"+repo, "--suite", "vmsplice/alias/*", "--suite", "tee/data/*",
			"--guest-binary", agent, "--out", out)
		err := cmd.Run()
		if code := exitCode(err); code != wantCode {
			t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantCode, stdout, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("the morning report lacks %q:\n%s", w, stdout)
			}
		}
		return stdout.String()
	}
	base := git("rev-parse", "HEAD")
	night(0, "Nothing new, nothing present, nothing fixed.")

	patch, _ := filepath.Glob(filepath.Join("..", "..", "kernels", "patches", "vmsplice-wrapper", "0001-*.patch"))
	abs, _ := filepath.Abs(patch[0])
	git("am", "-q", abs)
	change := git("rev-parse", "HEAD")
	window := base[:12] + ".." + change[:12]
	night(1, "NEW since last night (5):", "vmsplice/alias/read: aliasing:aliased -> aliasing:copied", "window "+window)

	if err := os.WriteFile(filepath.Join(repo, "Documentation", "patchtest-note.txt"), []byte("unrelated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "Documentation/patchtest-note.txt")
	git("commit", "-q", "-m", "docs: an unrelated note")
	night(0, "Still present (5):", "window "+window)

	git("revert", "--no-edit", change)
	fix := git("rev-parse", "HEAD")
	night(0, "Fixed tonight (5):", "window "+git("rev-parse", "HEAD^")[:12]+".."+fix[:12])

	cmd, stdout, stderr := command(t, tmp, "results", "history", "vmsplice/alias/read", "--out", out)
	if err := cmd.Run(); err != nil {
		t.Fatalf("history: %v\n%s", err, stderr)
	}
	var outcomes []string
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n")[1:] {
		f := strings.Fields(l)
		outcomes = append(outcomes, f[len(f)-1])
	}
	if got := strings.Join(outcomes, " "); got != "aliasing:aliased aliasing:copied aliasing:copied aliasing:aliased" {
		t.Errorf("history of vmsplice/alias/read: %s\n%s", got, stdout)
	}
}
