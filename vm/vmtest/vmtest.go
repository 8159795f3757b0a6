// Package vmtest holds what patchtest's integration tests share: the skip
// under -short, the guest binary (built once per test binary), Debian's
// kernel packages and the project's own kernels (fetched and built into
// the shared cache), and a check that no QEMU outlives its test.
package vmtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
)

// Integration skips t under -short: it builds or boots kernels. Else it
// makes sure, once per test binary, that the host has what building and
// booting kernels needs (Host).
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds or boots kernels; skipped with -short")
	}
	Host(t)
}

var host struct {
	once sync.Once
	err  error
}

// Host installs the host packages the integration tests need and the
// host lacks, as patchtest run does (QEMU, busybox, the kernel build
// tools, apt lists that know linux-source-6.12), once per test binary:
// `go test ./...` on a fresh Debian machine sets itself up. Where it may
// not install (not root and no password-less sudo, or
// PATCHTEST_NO_INSTALL set), t fails with the one command to run.
func Host(t testing.TB) {
	t.Helper()
	host.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		programs, libraries, apt := setup.ForSources([]string{kernels.DefaultSource}, CacheDir())
		plan := setup.Real.Check(ctx, append(append([]setup.Need{}, setup.Boot...), programs...), libraries, apt)
		host.err = setup.Ensure(ctx, plan, false, os.Stderr)
	})
	if host.err != nil {
		t.Fatalf("host set-up: %v", host.err)
	}
}

// CacheDir is the cache every integration test shares.
func CacheDir() string { return vm.DefaultCacheDir() }

var guest struct {
	once sync.Once
	path string
	err  error
}

// Guest returns the guest binary of this repository, built once.
func Guest(t testing.TB) string {
	t.Helper()
	guest.once.Do(func() { guest.path, guest.err = build.FromSource(context.Background(), CacheDir()) })
	if guest.err != nil {
		t.Fatalf("build the guest binary: %v", guest.err)
	}
	return guest.path
}

// Debian fetches (or finds cached) the Debian kernel package of flavour
// (6.12-amd64, 6.1-cloud).
func Debian(t testing.TB, flavour string) kernels.DebianImage {
	t.Helper()
	Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	img, err := kernels.FetchDebianImage(ctx, CacheDir(), flavour)
	if err != nil {
		t.Fatalf("fetch Debian kernel %s: %v", flavour, err)
	}
	return img
}

// Built builds (or takes from the cache) the kernel req names.
func Built(t testing.TB, req kernels.Request) *kernels.Build {
	t.Helper()
	Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	b := &kernels.Builder{CacheDir: CacheDir(), Progress: func(s string) { t.Log(s) }}
	bld, err := b.Build(ctx, req)
	if err != nil {
		t.Fatalf("build %+v: %v", req, err)
	}
	return bld
}

// Boot is the boot options for kernel with the guest binary and the
// shared cache.
func Boot(t testing.TB, kernel string) vm.BootOptions {
	t.Helper()
	return vm.BootOptions{Kernel: kernel, GuestBinary: Guest(t), CacheDir: CacheDir()}
}

// Isolate points TMPDIR at a directory of the test's own, so that every
// QEMU the test starts names it on its command line, and checks when the
// test ends that none of them survived. It returns the directory.
func Isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	t.Cleanup(func() {
		if pids := Mentioning(dir); len(pids) > 0 {
			t.Errorf("processes survived the test: %v", pids)
		}
	})
	return dir
}

// Mentioning lists the processes whose command line contains s.
func Mentioning(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			line := strings.ReplaceAll(string(b), "\x00", " ")
			out = append(out, e.Name()+": "+line[:min(len(line), 60)])
		}
	}
	return out
}

// QEMUChildren lists the QEMU processes this process started that are
// still running.
func QEMUChildren() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "qemu-system") {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == fmt.Sprint(os.Getpid()) {
			out = append(out, e.Name())
		}
	}
	return out
}

var programs struct {
	sync.Mutex
	done map[string]error
}

// Program returns the path of need's program, installing its Debian
// package first when the host lacks it (once per test binary), as Host
// does for QEMU: the README's test command sets up a fresh Debian machine
// itself. Where it may not install, t fails with the one command to run.
func Program(t testing.TB, need setup.Need) string {
	t.Helper()
	programs.Lock()
	defer programs.Unlock()
	if err, tried := programs.done[need.Program]; tried && err != nil {
		t.Fatalf("%s (%s): %v", need.Program, need.Why, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	path, err := setup.Program(ctx, need, false, os.Stderr)
	if programs.done == nil {
		programs.done = map[string]error{}
	}
	programs.done[need.Program] = err
	if err != nil {
		t.Fatalf("%s (%s): %v", need.Program, need.Why, err)
	}
	return path
}
