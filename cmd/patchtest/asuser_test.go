package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/vmtest"
)

// The reference series patch by patch, run as a user runs it (no
// --guest-binary: the guest agent is built at run time): every patch
// builds and runs, the changes are attributed to their patches, and the
// run passes with the series' expectations.
func TestCLIPerPatch(t *testing.T) {
	vmtest.Integration(t)
	tmp := t.TempDir()
	series := filepath.Join("..", "..", "kernels", "patches", "vmsplice-wrapper")
	cmd, stdout, stderr := command(t, tmp, "run", "--patches", series, "--per-patch", "--suite", "vmsplice/alias/*", "--suite", "vmsplice/read/*",
		"--out", filepath.Join(tmp, "out"))
	if code := exitCode(cmd.Run()); code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"[PATCH 1/3]", "[PATCH 2/3]", "[PATCH 3/3]", "vmsplice/alias/read"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
}

// b4's per-patch check on a git kernel tree, run as a user runs it: a
// patch that changes observations gets a WARNING: line for each and no
// ERROR:, exit 0; a patch that does not apply one ERROR: line naming it;
// nothing on stderr, where b4 reads every line as a failure.
func TestCLICheck(t *testing.T) {
	vmtest.Integration(t)
	repo, _ := vmtest.KernelRepo(t)
	patch, _ := filepath.Glob(filepath.Join("..", "..", "kernels", "patches", "vmsplice-wrapper", "0001-*.patch"))
	tmp := t.TempDir()
	check := func(patchFile string) string {
		t.Helper()
		f, err := os.Open(patchFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd, stdout, stderr := command(t, tmp, "check", "--tree", repo, "--suite", "vmsplice/alias/*", "--out", filepath.Join(tmp, "out"))
		cmd.Stdin = f
		if code := exitCode(cmd.Run()); code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if stderr.Len() > 0 {
			t.Errorf("check wrote on stderr, which b4 reads as the patch failing:\n%s", stderr)
		}
		return stdout.String()
	}
	out := check(patch[0])
	if !strings.Contains(out, "WARNING: changed ") || !strings.Contains(out, "vmsplice/alias/read") || strings.Contains(out, "ERROR:") {
		t.Errorf("the check of a patch that changes observations:\n%s", out)
	}
	bad := filepath.Join(tmp, "bad.patch")
	data, _ := os.ReadFile(patch[0])
	if err := os.WriteFile(bad, []byte(strings.ReplaceAll(string(data), "\n \t", "\n \tpatchtest-nomatch ")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := check(bad); !strings.HasPrefix(out, "ERROR: the patch does not apply to HEAD") || strings.Count(out, "\n") != 1 {
		t.Errorf("the check of a patch that does not apply:\n%s", out)
	}
}
