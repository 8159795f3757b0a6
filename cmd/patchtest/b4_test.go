package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/vmtest"
)

// b4Status is one check line as b4 prints it: a dot whose colour is the
// line's class, then the command's name and the line.
var b4Status = regexp.MustCompile(`(?m)^\s*\x1b\[([0-9;]+)m\x{25cf}\x1b\[0m (.*)$`)

// b4Classes maps b4's dot colours (its CI_FLAGS_FANCY) to its classes.
var b4Classes = map[string]string{"32": "success", "31": "warning", "31;5": "fail", "90": "pending"}

// b4Lines returns the check lines in b4's output, each as "CLASS: line".
func b4Lines(out string) []string {
	var lines []string
	for _, m := range b4Status.FindAllStringSubmatch(out, -1) {
		lines = append(lines, b4Classes[m[1]]+": "+m[2])
	}
	return lines
}

// Debian's b4 drives patchtest check as a maintainer configures it, on a
// git kernel tree. b4 am --check (am-perpatch-check-cmd, HEAD without the
// patch): a patch that changes nothing passes, one that changes an
// observation is a warning naming it, one whose kernel oopses a failure.
// b4 prep --check (prep-perpatch-check-cmd, the series committed on a
// prep branch): the committed patch is checked against its parent, not
// applied again. b4 reads any line on stderr as a failure and a check
// that prints nothing as passed, so these hold only if check keeps its
// progress off stderr and prints nothing for a clean patch.
func TestCLIB4Check(t *testing.T) {
	vmtest.Integration(t)
	b4 := vmtest.B4(t)
	repo, git := vmtest.KernelRepo(t)
	tmp := t.TempDir()
	check := fmt.Sprintf("%s check --suite vmsplice/alias/* --suite sendfile/len/* --out %s", binary, filepath.Join(tmp, "out"))
	env := append(os.Environ(), "TMPDIR="+tmp, "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"GIT_AUTHOR_NAME=patchtest", "GIT_AUTHOR_EMAIL=patchtest@example.org",
		"GIT_COMMITTER_NAME=patchtest", "GIT_COMMITTER_EMAIL=patchtest@example.org")
	config := func(kv ...string) []string {
		kv = append(kv, "user.name", "patchtest", "user.email", "patchtest@example.org", "b4.attestation-policy", "off")
		out := append([]string{}, env...)
		out = append(out, fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(kv)/2))
		for i := 0; i < len(kv); i += 2 {
			out = append(out, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i/2, kv[i]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i/2, kv[i+1]))
		}
		return out
	}
	runB4 := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(b4, append([]string{"--offline-mode"}, args...)...)
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("b4 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// Each patch as a mail from the list: committed, formatted with a
	// Message-Id, and taken off HEAD again.
	mail := func(name string, commit func()) string {
		t.Helper()
		commit()
		mbox := filepath.Join(tmp, name+".mbx")
		data := git("format-patch", "--stdout", "-1", "--add-header=Message-Id: <"+name+"@patchtest.example.org>", "HEAD")
		if err := os.WriteFile(mbox, []byte(data+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git("reset", "--quiet", "--hard", "HEAD^")
		return mbox
	}
	am := func(file string) func() { return func() { git("am", "--quiet", file) } }
	series, _ := filepath.Glob(filepath.Join("..", "..", "kernels", "patches", "vmsplice-wrapper", "0001-*.patch"))
	wrapper, _ := filepath.Abs(series[0])
	oops, _ := filepath.Abs(filepath.Join("..", "internal", "pipeline", "testdata", "faults", "oops", "0001-fault-oops.patch"))
	clean := mail("clean", func() {
		f := filepath.Join(repo, "fs", "splice.c")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, append([]byte("/* patchtest: a comment changes no behaviour */\n"), data...), 0o644); err != nil {
			t.Fatal(err)
		}
		git("commit", "--quiet", "-a", "-m", "splice: a comment")
	})
	changes := mail("changes", am(wrapper))
	crashes := mail("crashes", am(oops))

	amCheck := config("b4.am-perpatch-check-cmd", check)
	for _, tc := range []struct {
		name, mbox string
		ok         func(lines []string) bool
	}{
		{"a patch that changes nothing", clean, func(l []string) bool {
			return len(l) == 1 && l[0] == "success: patchtest: passed all checks"
		}},
		{"a patch that changes an observation", changes, func(l []string) bool {
			return len(l) > 0 && classes(l) == "warning" && strings.Contains(strings.Join(l, "\n"), "vmsplice/alias/read")
		}},
		{"a patch whose kernel oopses", crashes, func(l []string) bool {
			return strings.Contains(classes(l), "fail") && strings.Contains(strings.Join(l, "\n"), "sendfile/len/")
		}},
	} {
		out := runB4(amCheck, "am", "--check", "-m", tc.mbox, "-o", filepath.Join(tmp, "am"))
		lines := b4Lines(out)
		t.Logf("b4 am --check, %s: %q", tc.name, lines)
		if !tc.ok(lines) {
			t.Errorf("b4 am --check, %s: b4's lines %q\n%s", tc.name, lines, out)
		}
	}

	// b4 prep: a branch forked at HEAD with its cover letter, the patch
	// committed on it.
	prepCheck := config("b4.prep-perpatch-check-cmd", check)
	runB4(prepCheck, "prep", "--new", "patchtest-check", "--fork-point", "HEAD")
	git("am", "--quiet", wrapper)
	out := runB4(prepCheck, "prep", "--check")
	lines := b4Lines(out)
	t.Logf("b4 prep --check: %q", lines)
	if !strings.Contains(out, "Success: 0, Warning: ") || !strings.Contains(out, ", Error: 0") ||
		!strings.Contains(strings.Join(lines, "\n"), "vmsplice/alias/read") || strings.Contains(out, "does not apply") {
		t.Errorf("b4 prep --check of the committed wrapper patch:\n%s", out)
	}
}

// classes is the set of b4 classes among lines, sorted and joined.
func classes(lines []string) string {
	seen := map[string]bool{}
	for _, l := range lines {
		seen[strings.SplitN(l, ":", 2)[0]] = true
	}
	var out []string
	for _, c := range []string{"fail", "pending", "success", "warning"} {
		if seen[c] {
			out = append(out, c)
		}
	}
	return strings.Join(out, ",")
}
