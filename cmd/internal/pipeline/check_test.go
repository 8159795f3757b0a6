package pipeline

import (
	"context"
	"strings"
	"testing"
)

// Under b4 prep --check HEAD already holds the series: committedAs finds
// the commit that is the patch (its mail, as b4 pipes it, with headers
// and a trailer b4 may add), and nothing for a patch HEAD lacks, a patch
// with no diff, or the root commit (no parent to be the baseline).
func TestCommittedAs(t *testing.T) {
	dir, git, write := scratchRepo(t)
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
