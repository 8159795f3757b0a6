package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// patchtest installed with go install and run as the design's first user
// runs it: from a kernel tree outside any checkout of patchtest, with no
// Go on PATH, `patchtest run --kernel arch/x86/boot/bzImage`. The binary
// is its own guest and carries the built-in configuration; the candidate
// (the reference series) changes the aliasing cases, which a run without
// expectations reports as changes (exit 1), against the stock baseline.
func TestCLIInstalledRunsFromKernelTree(t *testing.T) {
	vmtest.Integration(t)
	tmp := t.TempDir()
	gobin := filepath.Join(tmp, "bin")
	install := exec.Command("go", "install", ".")
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	patchtest := filepath.Join(gobin, "patchtest")

	series := filepath.Join("..", "..", "kernels", "patches", "vmsplice-wrapper")
	bld := vmtest.Built(t, kernels.Request{Source: kernels.DefaultSource, Patches: series})
	tree := filepath.Join(tmp, "linux")
	copyFile(t, bld.BzImage, filepath.Join(tree, "arch", "x86", "boot", "bzImage"))
	copyFile(t, bld.Config, filepath.Join(tree, ".config"))

	env := []string{"HOME=" + os.Getenv("HOME"), "TMPDIR=" + tmp, "PATH=" + pathWithout(t, "go")}
	if c := os.Getenv("PATCHTEST_CACHE"); c != "" {
		env = append(env, "PATCHTEST_CACHE="+c)
	}
	user := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(patchtest, args...)
		cmd.Dir, cmd.Env = tree, env
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		code := exitCode(cmd.Run())
		return stdout.String(), stderr.String(), code
	}

	if out, errs, code := user("version"); code != 0 || !strings.HasPrefix(out, "patchtest ") || !strings.Contains(out, "github.com/patchtest/patchtest") {
		t.Errorf("patchtest version: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, _ := user("doctor"); !strings.Contains(out+errs, "patchtest is its own guest") {
		t.Errorf("doctor does not say patchtest is its own guest:\n%s%s", out, errs)
	}
	out, errs, code := user("run", "--kernel", "arch/x86/boot/bzImage", "--suite", "vmsplice/alias/*", "--out", filepath.Join(tmp, "out"))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (changes, no expectations given)\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(out, "vmsplice/alias/read") || strings.Contains(errs, "source not found") {
		t.Errorf("the run does not report the aliasing change:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
	if runs, _ := filepath.Glob(filepath.Join(tmp, "out", "*", "run.json")); len(runs) != 1 {
		t.Errorf("run folders: %v", runs)
	}
	if s := vmtest.Mentioning(tmp); len(s) > 0 {
		t.Errorf("processes survived: %v", s)
	}
}

// pathWithout returns $PATH less every directory holding an executable
// named name.
func pathWithout(t *testing.T, name string) string {
	t.Helper()
	var keep []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode()&0o111 != 0 {
			continue
		}
		keep = append(keep, dir)
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
