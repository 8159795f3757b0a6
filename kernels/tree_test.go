package kernels

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo makes a small git repository shaped like a built kernel tree:
// a Makefile, a .config (ignored, as in the kernel) and a bzImage.
func gitRepo(t *testing.T) (dir string, git func(args ...string) string) {
	t.Helper()
	dir = t.TempDir()
	git = func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Makefile", "# kernel\n")
	write(".gitignore", ".config\narch/x86/boot/bzImage\n")
	write(".config", "CONFIG_X=y\n")
	write("arch/x86/boot/bzImage", "image")
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "base")
	write("fs/splice.c", "change\n")
	git("add", "-A")
	git("commit", "-qm", "change")
	return dir, git
}

func TestTreeOf(t *testing.T) {
	dir, _ := gitRepo(t)
	if tree, cfg, ok := TreeOf(filepath.Join(dir, "arch/x86/boot/bzImage")); !ok || tree != dir || cfg != filepath.Join(dir, ".config") {
		t.Errorf("in-tree: %q %q %v", tree, cfg, ok)
	}
	// An O= directory: its .config, and the tree its source link names.
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, "arch/x86/boot"), 0o755)
	os.WriteFile(filepath.Join(out, "arch/x86/boot/bzImage"), nil, 0o644)
	os.WriteFile(filepath.Join(out, ".config"), nil, 0o644)
	os.Symlink(dir, filepath.Join(out, "source"))
	if tree, cfg, ok := TreeOf(filepath.Join(out, "arch/x86/boot/bzImage")); !ok || tree != dir || cfg != filepath.Join(out, ".config") {
		t.Errorf("O= build: %q %q %v", tree, cfg, ok)
	}
	for _, p := range []string{filepath.Join(dir, "bzImage"), "/boot/vmlinuz"} {
		if _, _, ok := TreeOf(p); ok {
			t.Errorf("%s taken for a build tree", p)
		}
	}
}

func TestFindBase(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string, git func(...string) string) (ref, want string)
		how   string
		dirty bool
		err   string
	}{
		{name: "no upstream, clean: HEAD's parent", how: "HEAD's parent",
			setup: func(t *testing.T, dir string, git func(...string) string) (string, string) {
				return "", git("rev-parse", "HEAD^")
			}},
		{name: "no upstream, uncommitted changes: HEAD", how: "uncommitted", dirty: true,
			setup: func(t *testing.T, dir string, git func(...string) string) (string, string) {
				os.WriteFile(filepath.Join(dir, "Makefile"), []byte("# changed\n"), 0o644)
				return "", git("rev-parse", "HEAD")
			}},
		{name: "upstream: the merge base", how: "merge base of HEAD and its upstream main",
			setup: func(t *testing.T, dir string, git func(...string) string) (string, string) {
				base := git("rev-parse", "HEAD^")
				git("checkout", "-q", "-b", "work", "--track", "main")
				git("reset", "-q", "--hard", base)
				os.WriteFile(filepath.Join(dir, "a.c"), []byte("work\n"), 0o644)
				git("add", "a.c")
				git("commit", "-qm", "work 1")
				git("commit", "-q", "--allow-empty", "-m", "work 2")
				return "", base
			}},
		{name: "--base-ref", how: "--base-ref main~1",
			setup: func(t *testing.T, dir string, git func(...string) string) (string, string) {
				return "main~1", git("rev-parse", "main~1")
			}},
		{name: "no such ref", err: "no such commit",
			setup: func(t *testing.T, dir string, git func(...string) string) (string, string) { return "nosuch", "" }},
		{name: "HEAD is its upstream", err: "no change to test",
			setup: func(t *testing.T, dir string, git func(...string) string) (string, string) {
				git("checkout", "-q", "-b", "work", "--track", "main")
				return "", ""
			}},
		{name: "not git", err: "not a git repository",
			setup: func(t *testing.T, dir string, git func(...string) string) (string, string) {
				os.RemoveAll(filepath.Join(dir, ".git"))
				return "", ""
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, git := gitRepo(t)
			ref, want := tc.setup(t, dir, git)
			status := ""
			if tc.err == "" {
				status = git("status", "--porcelain")
			}
			tb, err := FindBase(ctx, dir, filepath.Join(dir, ".config"), ref)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tb.Base != want || !strings.Contains(tb.How, tc.how) || tb.Dirty != tc.dirty || len(tb.Head) != 40 {
				t.Errorf("base %s (%s), dirty %v, head %q; want %s (%q), dirty %v", tb.Base, tb.How, tb.Dirty, tb.Head, want, tc.how, tc.dirty)
			}
			if tb.Source() != "git:"+dir+"@"+want {
				t.Errorf("source %s", tb.Source())
			}
			if after := git("status", "--porcelain"); after != status {
				t.Errorf("the tree's status changed: %q -> %q", status, after)
			}
		})
	}
}
