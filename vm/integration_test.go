package vm_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/initramfs"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// These tests boot real Debian kernels under QEMU; -short skips them.

func integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a kernel under QEMU; skipped with -short")
	}
}

func boot(t *testing.T, o vm.BootOptions) (*vm.Machine, error) {
	t.Helper()
	o.GuestBinary = vmtest.Guest(t)
	o.CacheDir = vm.DefaultCacheDir()
	o.Events = func(ev vm.Event) { t.Logf("%s: %s", ev.Kind, ev.Msg) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return vm.Boot(ctx, o)
}

func TestIntegrationBootDebianKernels(t *testing.T) {
	integration(t)
	for _, tc := range []struct {
		flavour     string
		withModules bool
	}{
		{"6.12-amd64", false}, // virtio built in
		{"6.1-cloud", true},   // virtio as modules, from the package
	} {
		t.Run(tc.flavour, func(t *testing.T) {
			vmtest.Isolate(t)
			img := vmtest.Debian(t, tc.flavour)
			k, err := vm.InspectKernel(img.Kernel)
			if err != nil {
				t.Fatal(err)
			}
			if k.Release() != img.Release {
				t.Errorf("InspectKernel release %q, package says %q", k.Release(), img.Release)
			}
			o := vm.BootOptions{Kernel: img.Kernel}
			if tc.withModules {
				o.ModulesDir = img.Dir // the package root; the tree is found inside
			}
			m, err := boot(t, o)
			if err != nil {
				t.Fatalf("boot: %v\n%s", err, detail(err))
			}
			defer m.Close()
			var stdout, stderr bytes.Buffer
			code, err := m.Run(context.Background(), []string{"uname", "-r"}, nil, &stdout, &stderr)
			if err != nil || code != 0 {
				t.Fatalf("uname -r: code %d, err %v, stderr %q", code, err, stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != img.Release {
				t.Errorf("uname -r = %q, want %q", got, img.Release)
			}
			info := m.Info()
			if !strings.HasPrefix(info.MachineType, "pc-") || info.QEMU.Version == "" || info.CPUModel == "" || info.Accel == "" {
				t.Errorf("boot record incomplete: %+v", info)
			}
			if tc.withModules && len(info.Agent.Modules) == 0 {
				t.Errorf("no modules loaded with --modules; warnings %v", info.Agent.Warnings)
			}
			st, err := m.Status(context.Background())
			if err != nil || st != "running" {
				t.Errorf("query-status = %q, %v; want running", st, err)
			}
			if err := m.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

func TestIntegrationCommands(t *testing.T) {
	integration(t)
	vmtest.Isolate(t)
	m, err := boot(t, vm.BootOptions{Kernel: vmtest.Debian(t, "6.12-amd64").Kernel})
	if err != nil {
		t.Fatalf("boot: %v\n%s", err, detail(err))
	}
	defer m.Close()
	for _, tc := range []struct {
		name   string
		argv   []string
		stdin  string
		code   int
		stdout string
	}{
		{"exit status", []string{"sh", "-c", "exit 7"}, "", 7, ""},
		{"killed by signal", []string{"sh", "-c", "kill -9 $$"}, "", 137, ""},
		{"stdin", []string{"cat"}, "through the agent\n", 0, "through the agent\n"},
		{"quoting", []string{"printf", "%s|", "a b", "it's", ""}, "", 0, "a b|it's||"},
		{"lo is up", []string{"sh", "-c", "cat /sys/class/net/lo/operstate"}, "", 0, "unknown\n"},
		{"no such command", []string{"/no/such/command"}, "", 127, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			code, err := m.Run(context.Background(), tc.argv, strings.NewReader(tc.stdin), &stdout, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || (tc.stdout != "" && stdout.String() != tc.stdout) {
				t.Errorf("%q: code %d, stdout %q; want %d, %q", tc.argv, code, stdout.String(), tc.code, tc.stdout)
			}
		})
	}
	t.Run("context ends command", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := m.Run(ctx, []string{"sleep", "60"}, nil, nil, nil)
		if vm.OutcomeOf(err) != vm.Interrupted || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v; want interrupted by deadline", err)
		}
		code, err := m.Run(context.Background(), []string{"true"}, nil, nil, nil)
		if err != nil || code != 0 {
			t.Errorf("machine unusable after an interrupted command: %d %v", code, err)
		}
	})
}

func TestIntegrationPanic(t *testing.T) {
	integration(t)
	vmtest.Isolate(t)
	m, err := boot(t, vm.BootOptions{Kernel: vmtest.Debian(t, "6.12-amd64").Kernel})
	if err != nil {
		t.Fatalf("boot: %v\n%s", err, detail(err))
	}
	defer m.Close()
	start := time.Now()
	_, err = m.Run(context.Background(), []string{"sh", "-c", "echo c > /proc/sysrq-trigger"}, nil, nil, nil)
	if vm.OutcomeOf(err) != vm.KernelPanic {
		t.Fatalf("err = %v; want a kernel panic", err)
	}
	var e *vm.Error
	errors.As(err, &e)
	if len(e.Reports) == 0 || !strings.Contains(e.Reports[0].Title, "sysrq triggered crash") {
		t.Errorf("reports %+v; want the sysrq panic", e.Reports)
	}
	if e.Cmdline == "" || e.ConsoleLog == "" {
		t.Errorf("error lacks the reproducer or the console log: %+v", e)
	}
	t.Logf("panic reported after %v", time.Since(start))
}

func TestIntegrationKernelWithoutChannel(t *testing.T) {
	integration(t)
	vmtest.Isolate(t)
	// The cloud kernel builds virtio_console as a module: without
	// --modules the agent cannot be reached, and init says so at once.
	// BootFailed (not NoOutput) shows that init's message ended the boot,
	// rather than the timeout.
	start := time.Now()
	_, err := boot(t, vm.BootOptions{Kernel: vmtest.Debian(t, "6.1-cloud").Kernel})
	if vm.OutcomeOf(err) != vm.BootFailed || !strings.Contains(err.Error(), "virtio") {
		t.Fatalf("err = %v; want boot failed naming virtio", err)
	}
	t.Logf("failed after %v", time.Since(start))
}

func TestIntegrationModulesMismatch(t *testing.T) {
	integration(t)
	vmtest.Isolate(t)
	_, err := boot(t, vm.BootOptions{
		Kernel:     vmtest.Debian(t, "6.12-amd64").Kernel,
		ModulesDir: vmtest.Debian(t, "6.1-cloud").Modules,
	})
	if vm.OutcomeOf(err) != vm.BadInput || !strings.Contains(err.Error(), "modules") {
		t.Fatalf("err = %v; want bad input about the modules", err)
	}
}

func detail(err error) string {
	var e *vm.Error
	if errors.As(err, &e) {
		return e.Detail()
	}
	return ""
}

// brokenKVMQEMU is a QEMU wrapper that behaves like these hosts' nested
// KVM: with -accel kvm the guest dies with an emulation failure and QEMU
// hangs; with any other accelerator the real QEMU runs.
const brokenKVMQEMU = `#!/bin/sh
case " $* " in
*" -accel kvm "*)
	echo "KVM internal error. Suberror: 1" >&2
	echo "emulation failure" >&2
	exec sleep 600 ;;
esac
exec qemu-system-x86_64 "$@"
`

// hangingKVMQEMU runs a guest that never makes progress under KVM: the
// real QEMU, its monitor up, its CPU stopped (-S), so nothing is printed.
const hangingKVMQEMU = `#!/bin/sh
kvm=
for a in "$@"; do
	shift
	case "$a" in kvm) kvm=1; a=tcg ;; host) a=max ;; esac
	set -- "$@" "$a"
done
[ -n "$kvm" ] && set -- "$@" -S
exec qemu-system-x86_64 "$@"
`

func TestIntegrationKVMFallback(t *testing.T) {
	integration(t)
	img := vmtest.Debian(t, "6.12-amd64")
	k, err := vm.InspectKernel(img.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	base, err := vm.PrepareImage(k, vm.GuestImage{Agent: vmtest.Guest(t), CacheDir: vm.DefaultCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, script, reason string
	}{
		{"emulation failure", brokenKVMQEMU, "KVM internal error"},
		{"silent hang", hangingKVMQEMU, "printed nothing within 5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vmtest.Isolate(t)
			qemu := filepath.Join(t.TempDir(), "qemu-system-x86_64")
			if err := os.WriteFile(qemu, []byte(tc.script), 0o755); err != nil {
				t.Fatal(err)
			}
			os.Remove(vm.VerdictFile(cache))
			var notices []string
			spec := vm.Spec{
				BootOptions: vm.BootOptions{Kernel: img.Kernel, QEMU: qemu, CacheDir: cache, Accel: vm.Auto,
					Events: func(ev vm.Event) {
						if ev.Kind == vm.EventNotice {
							notices = append(notices, ev.Msg)
						}
					}},
				Initramfs: base.Path, AgentBuildID: base.AgentBuildID,
				KVMDevice: "/dev/null", KVMProgress: 5 * time.Second,
			}
			start := time.Now()
			m, err := vm.Start(context.Background(), spec)
			if err != nil {
				t.Fatalf("auto did not fall back: %v", err)
			}
			m.Close()
			t.Logf("fell back and booted in %v; notices %q", time.Since(start), notices)
			if info := m.Info(); info.Accel != vm.TCG || !strings.Contains(info.AccelNote, tc.reason) {
				t.Errorf("accel %s (%s); want tcg because %s", info.Accel, info.AccelNote, tc.reason)
			}
			if len(notices) != 1 || !strings.Contains(notices[0], "falling back to TCG") {
				t.Errorf("notices %q; want one fallback line", notices)
			}
			// The verdict is remembered: the next boot goes straight to TCG.
			notices = nil
			start = time.Now()
			m, err = vm.Start(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
			if m.Info().Accel != vm.TCG || len(notices) != 1 || !strings.Contains(notices[0], "KVM broken on this host") {
				t.Errorf("second boot: accel %s, notices %q; want the cached verdict used", m.Info().Accel, notices)
			}
			// Asked for explicitly, a broken KVM is an infrastructure error.
			spec.Accel = vm.KVM
			_, err = vm.Start(context.Background(), spec)
			if err == nil || vm.OutcomeOf(err) != vm.Infrastructure || !strings.Contains(err.Error(), "KVM") {
				t.Errorf("--accel kvm on broken KVM: %v; want an infrastructure error", err)
			}
		})
	}
}

// A dynamically linked host program (--program) runs in the guest: its
// shared libraries and loader came with it.
func TestIntegrationHostProgram(t *testing.T) {
	integration(t)
	vmtest.Isolate(t)
	prog, err := exec.LookPath("sort")
	if err != nil || initramfs.CheckStatic(prog) == nil {
		t.Skip("no dynamically linked sort on this host")
	}
	prog, _ = filepath.Abs(prog)
	m, err := boot(t, vm.BootOptions{Kernel: vmtest.Debian(t, "6.12-amd64").Kernel, Programs: []string{prog}})
	if err != nil {
		t.Fatalf("boot: %v\n%s", err, detail(err))
	}
	defer m.Close()
	var stdout, stderr bytes.Buffer
	code, err := m.Run(context.Background(), []string{prog, "--version"}, nil, &stdout, &stderr)
	if err != nil || code != 0 || !strings.Contains(stdout.String(), "GNU coreutils") {
		t.Errorf("%s --version in the guest: exit %d, %v\nstdout %q\nstderr %q", prog, code, err, stdout.String(), stderr.String())
	}
}
