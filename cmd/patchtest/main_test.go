package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		err      error
		code     int
		contains string
	}{
		{nil, 0, ""},
		{&exitError{code: 7}, 7, ""},
		{&vm.Error{Outcome: vm.KernelPanic, Msg: "Kernel panic - not syncing"}, 81, "kernel fault"},
		{&vm.Error{Outcome: vm.QEMUMissing, Msg: "no qemu"}, 69, "host/harness fault"},
		{fmt.Errorf("wrapped: %w", &vm.Error{Outcome: vm.BadInput, Msg: "x"}), 65, "bad input"},
		{errors.New("plain"), 2, "plain"},
	} {
		var b bytes.Buffer
		if got := report(&b, tc.err); got != tc.code || !strings.Contains(b.String(), tc.contains) {
			t.Errorf("report(%v) = %d, %q; want %d containing %q", tc.err, got, b.String(), tc.code, tc.contains)
		}
	}
}

func TestOutcomeCodesDistinct(t *testing.T) {
	seen := map[int]vm.Outcome{}
	for _, o := range vm.Outcomes() {
		if o == vm.CommandFailed {
			continue
		}
		if prev, dup := seen[o.ExitCode()]; dup {
			t.Errorf("%v and %v share exit code %d", o, prev, o.ExitCode())
		}
		seen[o.ExitCode()] = o
	}
}

// The tests below run the patchtest binary as a user would.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "patchtest-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "patchtest")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build patchtest: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command returns patchtest with args, its TMPDIR private to the test so
// that survivors can be found by it.
func command(t *testing.T, tmp string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestCLIBootUname(t *testing.T) {
	img := vmtest.Debian(t, "6.12-amd64")
	tmp := t.TempDir()
	cmd, stdout, stderr := command(t, tmp, "boot", "--timings", "--kernel", img.Kernel, "--", "uname", "-r")
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if got := strings.TrimSpace(stdout.String()); got != img.Release {
		t.Errorf("stdout %q; want %q", got, img.Release)
	}
	if !strings.Contains(stderr.String(), "boot-to-ready") {
		t.Errorf("--timings printed nothing: %s", stderr)
	}
	t.Log(strings.TrimSpace(stderr.String()))
}

func TestCLIFailures(t *testing.T) {
	img612 := vmtest.Debian(t, "6.12-amd64")
	img61 := vmtest.Debian(t, "6.1-cloud")
	notKernel := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notKernel, []byte("not a kernel\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		code int
		line string // the first line of stderr contains this
	}{
		{"not a kernel", []string{"boot", "-k", notKernel, "--", "true"}, nil, 65, "not an x86 Linux kernel"},
		{"missing kernel", []string{"boot", "-k", "/no/such/bzImage", "--", "true"}, nil, 66, "no such file"},
		{"missing qemu", []string{"boot", "-k", img612.Kernel, "--", "true"}, []string{"PATH=/nonexistent"}, 69, "this host lacks qemu-system-x86_64 (qemu-system-x86, to boot the guests)"},
		{"kernel cannot reach agent", []string{"boot", "-k", img61.Kernel, "--", "true"}, nil, 80, "no virtio console driver"},
		{"command fails", []string{"boot", "-k", img612.Kernel, "--", "sh", "-c", "exit 9"}, nil, 9, ""},
		{"kernel panics", []string{"boot", "-k", img612.Kernel, "--", "sh", "-c", "echo c > /proc/sysrq-trigger"}, nil, 81, "Kernel panic"},
		{"bad flag", []string{"boot", "--nope", "-k", img612.Kernel, "--", "true"}, nil, 65, "unknown flag"},
		{"bad accel", []string{"boot", "--accel", "hvf", "-k", img612.Kernel, "--", "true"}, nil, 65, "want auto, kvm or tcg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			cmd, _, stderr := command(t, tmp, tc.args...)
			cmd.Env = append(cmd.Env, tc.env...)
			if len(tc.env) > 0 {
				// Go itself must still be found to build the guest.
				cmd.Args = append([]string{binary, tc.args[0], "--guest-binary", vmtest.Guest(t)}, tc.args[1:]...)
			}
			err := cmd.Run()
			if got := exitCode(err); got != tc.code {
				t.Errorf("exit %d; want %d\n%s", got, tc.code, stderr)
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			for strings.HasPrefix(first, "patchtest: KVM") { // the accelerator notice
				_, rest, _ := strings.Cut(stderr.String(), "\n")
				first, _, _ = strings.Cut(rest, "\n")
			}
			if !strings.Contains(first, tc.line) {
				t.Errorf("first error line %q; want it to contain %q\n%s", first, tc.line, stderr)
			}
			if s := vmtest.Mentioning(tmp); len(s) > 0 {
				t.Errorf("processes survived: %v", s)
			}
		})
	}
}

// builtKernel returns the project's stock kernel, built with patches
// when given (cached after the first build).
func builtKernel(t *testing.T, patches string) string {
	t.Helper()
	return vmtest.Built(t, kernels.Request{Source: kernels.DefaultSource, Patches: patches}).BzImage
}

// run's exit status on real kernels, run as a user runs it (no
// --guest-binary): 0 for a kernel against itself, 1 when the candidate
// corrupts data, and either way a run folder.
func TestCLIRunExitCodes(t *testing.T) {
	stock := builtKernel(t, "")
	corrupt := builtKernel(t, filepath.Join("..", "internal", "pipeline", "testdata", "faults", "corrupt"))
	for _, tc := range []struct {
		name, kernel string
		want         int
	}{
		{"same kernel", stock, 0},
		{"corrupting kernel", corrupt, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			out := filepath.Join(tmp, "out")
			cmd, stdout, stderr := command(t, tmp, "run", "--kernel", tc.kernel, "--baseline", stock,
				"--suite", "vmsplice/read/*", "--out", out)
			if code := exitCode(cmd.Run()); code != tc.want {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, tc.want, stdout, stderr)
			}
			if runs, _ := filepath.Glob(filepath.Join(out, "*", "run.json")); len(runs) != 1 {
				t.Errorf("run folders: %v", runs)
			}
		})
	}
}

// SIGINT in the middle of a run's cases: the run folder is written,
// marked incomplete, with the cases not reached as not run, and run
// exits 130.
func TestCLIRunSIGINTWritesIncomplete(t *testing.T) {
	stock := builtKernel(t, "")
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	cmd, _, _ := command(t, tmp, "run", "--kernel", stock, "--baseline", stock,
		"--suite", "vmsplice/*", "--json", "--out", out)
	// The test reads stderr while the child still writes it.
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// Wait for the first case's result: the run is then mid-case.
	cases := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"kind":"case"`) {
				select {
				case cases <- struct{}{}:
				default:
				}
			}
		}
	}()
	select {
	case <-cases:
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("no case finished within 5 minutes\n%s", stderr)
	}
	interrupt(t, cmd, stderr, time.Minute)
	runs, _ := filepath.Glob(filepath.Join(out, "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("run folders: %v\n%s", runs, stderr)
	}
	rec, err := results.LoadRecord(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Incomplete {
		t.Error("the record is not marked incomplete")
	}
	want, _ := suites.Catalogue().Select("vmsplice/*")
	notRun := 0
	for _, r := range rec.Candidate.Run.Results {
		if r.NotRun != "" {
			notRun++
		}
	}
	if len(rec.Baseline.Run.Results) != len(want) || len(rec.Candidate.Run.Results) != len(want) || notRun == 0 {
		t.Errorf("%d and %d results of %d, %d not run on the candidate", len(rec.Baseline.Run.Results), len(rec.Candidate.Run.Results), len(want), notRun)
	}
	if s := vmtest.Mentioning(tmp); len(s) > 0 {
		t.Errorf("processes survived: %v", s)
	}
}

// SIGINT at any moment — mid-boot or mid-command — ends patchtest promptly
// and leaves no QEMU, socket or directory behind.
func TestCLISIGINT(t *testing.T) {
	img := vmtest.Debian(t, "6.12-amd64")
	for _, tc := range []struct {
		name  string
		after time.Duration
	}{
		{"mid-boot", 200 * time.Millisecond},
		{"mid-command", 0}, // wait for the command to start
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			cmd, _, stderr := command(t, tmp, "boot", "-k", img.Kernel, "--", "sh", "-c", "echo started; sleep 300")
			stdout := &syncBuffer{}
			cmd.Stdout = stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if tc.after > 0 {
				// Mid-boot: as soon as QEMU runs (the guest binary and
				// the initramfs come first).
				deadline := time.Now().Add(2 * time.Minute)
				for len(vmtest.Mentioning(tmp)) == 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(tc.after)
			} else {
				deadline := time.Now().Add(2 * time.Minute)
				for !strings.Contains(stdout.String(), "started") && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if !strings.Contains(stdout.String(), "started") {
					cmd.Process.Kill()
					t.Fatalf("the command never started in the guest\n%s", stderr)
				}
			}
			if len(vmtest.Mentioning(tmp)) == 0 {
				t.Fatalf("no QEMU running when the signal was to be sent\n%s", stderr)
			}
			sent := time.Now()
			interrupt(t, cmd, stderr, 30*time.Second)
			t.Logf("ended %v after SIGINT; stderr: %s", time.Since(sent).Round(time.Millisecond), stderr)
			if s := vmtest.Mentioning(tmp); len(s) > 0 {
				t.Errorf("processes survived: %v", s)
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "patchtest-vm-*")); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// Bad run configurations fail before anything is built, naming the file,
// line and key, with the harness exit code 2.
func TestCLIRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ yaml, want string }{
		{"kernels:\n  candidate:\n    patchs: x\n", "line 3: field patchs not found"},
		{"qemu:\n  accel: hvf\n", "qemu.accel"},
		{"perf:\n  level: fast\n", "perf.level"},
		{"perf:\n  alpha: 5\n", "perf.alpha"},
	} {
		p := filepath.Join(dir, "run.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o644)
		cmd, _, stderr := command(t, dir, "run", "--config", p)
		err := cmd.Run()
		if code := exitCode(err); code != 2 || !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), p) {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming %s and %q", tc.yaml, code, stderr, p, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--kernel", "/k", "--patches", "/p"}, "give one"},
		{[]string{"run", "--perf", "fast"}, "perf level \"fast\""},
		{[]string{"perf", "--null", "--kernel", "/k", "--baseline", "/b"}, "drop --baseline"},
		{[]string{"perf", "--kernel", "/k", "--bench", "nosuch"}, "matches none"},
	} {
		cmd, _, stderr := command(t, dir, tc.args...)
		if code := exitCode(cmd.Run()); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// A QEMU that cannot start is the harness's problem, not the kernel's:
// patchtest run exits 2.
func TestCLIRunQEMUCannotStart(t *testing.T) {
	img := vmtest.Debian(t, "6.12-amd64")
	tmp := t.TempDir()
	qemu := filepath.Join(tmp, "qemu-broken")
	os.WriteFile(qemu, []byte("#!/bin/sh\ncase \"$1\" in --version) echo 'QEMU emulator version 7.2.0';; *) echo 'qemu: could not load PC BIOS' >&2; exit 1;; esac\n"), 0o755)
	cmd, stdout, stderr := command(t, tmp, "run", "--kernel", img.Kernel, "--baseline", img.Kernel,
		"--qemu", qemu, "--guest-binary", vmtest.Guest(t), "--suite", "tee/data/*", "--out", filepath.Join(tmp, "out"))
	if code := exitCode(cmd.Run()); code != 2 {
		t.Errorf("exit %d, want 2\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr.String(), "could not load PC BIOS") {
		t.Errorf("stderr does not say why QEMU failed:\n%s", stderr)
	}
}

// --require-kvm refuses to measure under TCG: the run exits 2 (the
// host's limit, not the kernel's), and the correctness results gathered
// before it are written all the same. A QEMU that refuses KVM stands in
// for a host without it, so the test means the same on every host; its
// KVM verdict goes to a private cache.
func TestCLIRequireKVMKeepsSuites(t *testing.T) {
	img := vmtest.Debian(t, "6.12-amd64")
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	qemu := filepath.Join(tmp, "qemu-without-kvm")
	os.WriteFile(qemu, []byte("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = kvm ] && { echo 'qemu-system-x86_64: failed to initialize kvm: No such device' >&2; exit 1; }; done\nexec qemu-system-x86_64 \"$@\"\n"), 0o755)
	cmd, _, stderr := command(t, tmp, "run", "--kernel", img.Kernel, "--baseline", img.Kernel, "--qemu", qemu, "--cache-dir", filepath.Join(tmp, "cache"),
		"--guest-binary", vmtest.Guest(t), "--suite", "tee/data/*", "--perf", "quick", "--require-kvm", "--out", out)
	if code := exitCode(cmd.Run()); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "requires KVM") || !strings.Contains(stderr.String(), "what was done is in") {
		t.Errorf("stderr:\n%s", stderr)
	}
	runs, _ := filepath.Glob(filepath.Join(out, "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("run folders: %v", runs)
	}
	rec, err := results.LoadRecord(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := suites.Catalogue().Select("tee/data/*")
	if n := len(rec.Candidate.Run.Results); n != len(want) || n == 0 {
		t.Errorf("%d results kept, want the %d of tee/data/*", n, len(want))
	}
	if rec.Perf == nil || !strings.Contains(rec.Perf.Error, "harness") {
		t.Errorf("perf %+v, want a harness error", rec.Perf)
	}
}

// syncBuffer is a buffer a test may read while a command writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// interrupt sends cmd SIGINT and checks that it exits 130 within d.
func interrupt(t *testing.T, cmd *exec.Cmd, stderr fmt.Stringer, d time.Duration) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitCode(err); code != 130 {
			t.Errorf("exit %d after SIGINT; want 130\n%s", code, stderr)
		}
	case <-time.After(d):
		cmd.Process.Kill()
		t.Fatalf("patchtest still running %v after SIGINT\n%s", d, stderr)
	}
}
