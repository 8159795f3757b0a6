package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Under b4 prep --check HEAD already holds the series: committedAs finds
// the commit that is the patch (its mail, as b4 pipes it, with headers
// and a trailer b4 may add), and nothing for a patch HEAD lacks, a patch
// with no diff, or the root commit (no parent to be the baseline).
func TestCommittedAs(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	write := func(path, text, msg string) string {
		p := filepath.Join(dir, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", path)
		git("commit", "-q", "-m", msg)
		return strings.TrimSpace(git("rev-parse", "HEAD"))
	}
	git("init", "-q")
	root := write("fs/splice.c", "one\ntwo\nthree\n", "root")
	fix := write("fs/splice.c", "one\n2\nthree\n", "splice: two is 2")
	write("fs/pipe.c", "pipe\n", "pipe: a file")
	rootPatch := git("format-patch", "--stdout", "--root", root)
	fixPatch := git("format-patch", "--stdout", "-1", fix)
	// The same change on another line number and with b4's trailers is
	// the same patch: git patch-id ignores both.
	mailed := strings.Replace(fixPatch, "Subject: [PATCH] splice: two is 2\n", "Message-Id: <x@example.org>\nSubject: [PATCH v2 1/2] splice: two is 2\n", 1)
	mailed = strings.Replace(mailed, "\n---\n", "\nLink: https://lore.example.org/r/x@example.org\nSigned-off-by: t <t@example.org>\n---\n", 1)
	other := strings.Replace(fixPatch, "+2\n", "+II\n", 1)
	for _, tc := range []struct {
		name, patch, want string
	}{
		{"the committed patch", fixPatch, fix},
		{"the committed patch as b4 mails it", mailed, fix},
		{"a patch HEAD lacks", other, ""},
		{"the root commit", rootPatch, ""},
		{"no diff", "Subject: [PATCH 0/2] cover letter\n\nhello\n", ""},
	} {
		got, err := committedAs(context.Background(), dir, []byte(tc.patch))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: committedAs = %q, want %q", tc.name, got, tc.want)
		}
	}
}
