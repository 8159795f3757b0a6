package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Check is one finding of Doctor.
type Check struct {
	Name   string
	OK     bool
	Detail string
	// Fix says how to repair a failed check.
	Fix string
	// Optional checks do not make the host unusable.
	Optional bool
}

// Doctor checks what patchtest needs on this host.
func Doctor(ctx context.Context, cacheDir, qemu string) []Check {
	var checks []Check
	add := func(c Check) { checks = append(checks, c) }

	q, err := FindQEMU(ctx, qemu)
	if err != nil {
		add(Check{Name: "qemu", Detail: err.Error(), Fix: "apt-get install qemu-system-x86"})
	} else {
		add(Check{Name: "qemu", OK: true, Detail: q.Path + " " + q.Version})
		kvm := Check{Name: "kvm", Optional: true}
		if err := KVMDevice(""); err != nil {
			kvm.Detail = err.Error() + "; guests run under TCG"
			kvm.Fix = "load kvm_intel or kvm_amd and add yourself to group kvm (optional)"
		} else if v, ok := LoadKVMVerdict(cacheDir, HostKeyFor(q.Version)); ok {
			kvm.OK = v.Works
			kvm.Detail = v.String() + "; file " + VerdictFile(cacheDir)
			if !v.Works {
				kvm.Detail += "; guests run under TCG"
				kvm.Fix = "patchtest doctor --recheck-kvm forgets the verdict; the next boot with --accel auto tests KVM again"
			}
		} else {
			kvm.OK = true
			kvm.Detail = "/dev/kvm opens; not yet verified (the next boot with --accel auto verifies it)"
		}
		add(kvm)
	}
	if p, err := FindBusybox(); err != nil {
		add(Check{Name: "busybox", Optional: true, Detail: err.Error() + "; guests get no shell", Fix: "apt-get install busybox-static"})
	} else {
		add(Check{Name: "busybox", OK: true, Detail: p + " (static)"})
	}
	tools := []struct{ bin, pkg string }{
		{"cpio", "cpio"}, {"make", "build-essential"}, {"gcc", "build-essential"},
		{"flex", "flex"}, {"bison", "bison"}, {"bc", "bc"}, {"git", "git"}, {"patch", "patch"},
	}
	for _, t := range tools {
		if p, err := exec.LookPath(t.bin); err != nil {
			add(Check{Name: t.bin, Optional: true, Detail: "not found; needed to build kernels from source", Fix: "apt-get install " + t.pkg})
		} else {
			add(Check{Name: t.bin, OK: true, Detail: p})
		}
	}
	headers := []struct{ file, pkg string }{
		{"/usr/include/libelf.h", "libelf-dev"}, {"/usr/include/openssl/ssl.h", "libssl-dev"},
	}
	for _, h := range headers {
		if _, err := os.Stat(h.file); err != nil {
			add(Check{Name: h.pkg, Optional: true, Detail: h.file + " missing; needed to build kernels", Fix: "apt-get install " + h.pkg})
		} else {
			add(Check{Name: h.pkg, OK: true, Detail: h.file})
		}
	}
	if p, err := exec.LookPath("ccache"); err != nil {
		add(Check{Name: "ccache", Optional: true, Detail: "not found; kernels build without a compiler cache", Fix: "apt-get install ccache (optional)"})
	} else if os.Getenv("PATCHTEST_CCACHE") == "off" {
		add(Check{Name: "ccache", OK: true, Detail: p + "; not used (PATCHTEST_CCACHE=off)"})
	} else {
		dir := os.Getenv("CCACHE_DIR")
		if dir == "" {
			dir = filepath.Join(cacheDir, "ccache")
		}
		d := p + "; kernels compile through it, cache " + dir
		if r := os.Getenv("CCACHE_REMOTE_STORAGE"); r != "" {
			d += ", remote storage set (CCACHE_REMOTE_STORAGE)"
		}
		add(Check{Name: "ccache", OK: true, Detail: d})
	}
	add(Check{Name: "cache", OK: true, Detail: fmt.Sprintf("%s (set PATCHTEST_CACHE to move it)", cacheDir)})
	return checks
}
