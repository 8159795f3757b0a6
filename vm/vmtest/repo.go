package vmtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/kernels"
)

// KernelRepo makes a git repository of Debian's 6.12 source in a
// temporary directory, its one commit "base" on branch main, and returns
// it with a function running git there. Commits made through git get a
// fixed author, committer and date, so that the same steps give the same
// commit IDs and the kernels built from them are found in the cache on
// the next run. The source's .gitignore loses Debian's packaging block,
// which ignores everything at the top level.
func KernelRepo(t testing.TB) (dir string, git func(args ...string) string) {
	t.Helper()
	Integration(t)
	Built(t, kernels.Request{}) // materializes the source
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	b := &kernels.Builder{CacheDir: CacheDir()}
	src, release, err := b.Tree(ctx, kernels.Request{})
	if err != nil {
		t.Fatalf("the Debian source tree: %v", err)
	}
	dir = filepath.Join(t.TempDir(), "linux")
	cp := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", src, dir)
	out, err := cp.CombinedOutput()
	release()
	if err != nil {
		t.Fatalf("copy the source: %v: %s", err, out)
	}
	gi := filepath.Join(dir, ".gitignore")
	data, err := os.ReadFile(gi)
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(data), "#\n# Debian packaging"); i >= 0 {
		data = data[:i]
	}
	if err := os.WriteFile(gi, data, 0o644); err != nil {
		t.Fatal(err)
	}
	git = func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(context.Background(), "git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"GIT_AUTHOR_NAME=patchtest", "GIT_AUTHOR_EMAIL=patchtest@example.org", "GIT_AUTHOR_DATE=2026-12-01T12:00:00Z",
			"GIT_COMMITTER_NAME=patchtest", "GIT_COMMITTER_EMAIL=patchtest@example.org", "GIT_COMMITTER_DATE=2026-12-01T12:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	// No background gc: with the source's 80,000 loose objects every
	// commit would start a detached repack of the whole tree, racing the
	// test's removal of the directory.
	git("config", "gc.auto", "0")
	git("config", "maintenance.auto", "false")
	git("add", "-A")
	git("commit", "-q", "-m", "base: Debian linux-source-6.12")
	return dir, git
}
