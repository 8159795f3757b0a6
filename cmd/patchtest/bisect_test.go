package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/vmtest"
)

// bisectRepo is a repository of the Debian source with five commits
// after its base: an unrelated one, one that does not build, its fix, the
// vmsplice-wrapper series' first patch (vmsplice into a pipe copies:
// vmsplice/alias/read flips), and another unrelated one. It returns the
// repository, its git, the base, the broken commit and the flip.
func bisectRepo(t *testing.T) (repo string, git func(...string) string, base, brokenCommit, flip string) {
	t.Helper()
	repo, git = vmtest.KernelRepo(t)
	base = git("rev-parse", "HEAD")
	edit := func(path string, f func(string) string) {
		p := filepath.Join(repo, path)
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", path)
	}
	const broken = "#error patchtest: this commit does not build\n"
	edit("Documentation/patchtest-note.txt", func(string) string { return "one\n" })
	git("commit", "-q", "-m", "docs: an unrelated note")
	edit("fs/splice.c", func(s string) string { return s + broken })
	git("commit", "-q", "-m", "splice: a commit that does not build")
	brokenCommit = git("rev-parse", "HEAD")
	edit("fs/splice.c", func(s string) string { return strings.TrimSuffix(s, broken) })
	git("commit", "-q", "-m", "splice: build again")
	flip = vmspliceCopies(t, git)
	edit("Documentation/patchtest-note.txt", func(string) string { return "two\n" })
	git("commit", "-q", "-m", "docs: another unrelated note")
	return repo, git, base, brokenCommit, flip
}

// patchtest bisect, run as a user runs it (no --guest-binary), on
// bisectRepo must name the flipping commit, skip the broken one (its
// first midpoint), and need no more than ceil(log2 5)+2 builds.
func TestCLIBisect(t *testing.T) {
	vmtest.Integration(t)
	repo, git, base, brokenCommit, flip := bisectRepo(t)

	tmp := t.TempDir()
	cmd, stdout, stderr := command(t, tmp, "bisect", "--source", "git:"+repo, "--good", base, "--bad", "HEAD",
		"--case", "vmsplice/alias/read")
	err := cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	if err != nil {
		t.Fatalf("bisect: %v", err)
	}
	out := stdout.String()
	if !strings.Contains(out, "first bad commit: "+flip[:12]+" vmsplice: implement vmsplice() into a pipe") {
		t.Errorf("did not name %s", flip[:12])
	}
	if !strings.Contains(out, "vmsplice/alias/read: aliasing:aliased before it, aliasing:copied from it on") {
		t.Errorf("no observation on both sides")
	}
	m := regexp.MustCompile(`builds needed: (\d+)`).FindStringSubmatch(out)
	limit := int(math.Ceil(math.Log2(5))) + 2
	if m == nil {
		t.Fatal("no count of builds")
	}
	if n, _ := strconv.Atoi(m[1]); n > limit {
		t.Errorf("builds needed %d, want at most %d", n, limit)
	}
	// git bisect's first midpoint between the base and HEAD is the
	// commit that does not build (the second of five; checked with git
	// 2.39 on a scratch history of the same shape): it must be skipped,
	// never called good or bad.
	if !regexp.MustCompile(brokenCommit[:12] + ` skip .*does not build`).MatchString(out) {
		t.Errorf("the broken commit %s was not skipped as unbuildable", brokenCommit[:12])
	}
	if status := git("status", "--porcelain"); status != "" {
		t.Errorf("the repository changed: %q", status)
	}
}

// A bisection whose re-runs cannot boot (a QEMU that fails every second
// boot of a kernel): a commit that looks bad is skipped as not confirmed,
// with the reason, never called bad or flaky, and the bisection names no
// first bad commit (exit 2: it could not measure).
func TestCLIBisectRerunCannotBoot(t *testing.T) {
	vmtest.Integration(t)
	repo, _, base, _, _ := bisectRepo(t)
	cmd, stdout, stderr := command(t, t.TempDir(), "bisect", "--source", "git:"+repo, "--good", base, "--bad", "HEAD",
		"--case", "vmsplice/alias/read", "--qemu", vmtest.OnceQEMU(t))
	err := cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	if code := exitCode(err); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	out := stdout.String()
	if !regexp.MustCompile(` skip .*not confirmed: re-run 1 of 2 could not run \(.*Cannot allocate memory`).MatchString(out) {
		t.Errorf("no commit skipped as not confirmed:\n%s", out)
	}
	if regexp.MustCompile(` bad |flaky|first bad commit:`).MatchString(out) {
		t.Errorf("a re-run that could not run made a verdict:\n%s", out)
	}
}

// patchtest bisect --bench on a history of four commits after its base:
// a documentation note, the 80 µs sendfile fault, another note and a
// change to splice's comments. The bisection names the sendfile commit
// as the first bad one for sendfile's benchmark, and calls the notes
// before it good: measured by A/B against the good end under the
// instruction clock, not by a case.
func TestCLIBisectBench(t *testing.T) {
	vmtest.Integration(t)
	repo, git := vmtest.KernelRepo(t)
	base := git("rev-parse", "HEAD")
	docsCommit(t, repo, git, "one\n")
	note := git("rev-parse", "HEAD")
	slow, err := filepath.Abs(filepath.Join("..", "internal", "pipeline", "testdata", "faults", "slowsendfile", "0001-fault-slow-sendfile.patch"))
	if err != nil {
		t.Fatal(err)
	}
	git("am", "-q", slow)
	bad := git("rev-parse", "HEAD")
	docsCommit(t, repo, git, "two\n")
	docsCommit(t, repo, git, "three\n")

	cmd, stdout, stderr := command(t, t.TempDir(), "bisect", "--source", "git:"+repo, "--good", base, "--bad", "HEAD",
		"--bench", "sendfile/file-tcp/1MiB")
	err = cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	if err != nil {
		t.Fatalf("bisect: %v", err)
	}
	out := stdout.String()
	if !strings.Contains(out, "first bad commit: "+bad[:12]+" read_write: a fixed 80 us cost in every sendfile() call") {
		t.Errorf("did not name %s", bad[:12])
	}
	if !strings.Contains(out, "sendfile/file-tcp/1MiB: no regression before it, cpu-s/GiB +") || strings.Contains(out, "bzImage") {
		t.Errorf("the summary does not say what changed at the first bad commit (or names a kernel image)")
	}
	if regexp.MustCompile(note[:12] + ` bad\b`).MatchString(out) {
		t.Errorf("the note before the fault was called bad")
	}
	if status := git("status", "--porcelain"); status != "" {
		t.Errorf("the repository changed: %q", status)
	}
}
