package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/patchtest/patchtest/vm/initramfs"
)

// BootOptions is everything a user chooses about one boot.
type BootOptions struct {
	// Kernel is the bzImage to boot.
	Kernel string
	// ModulesDir is the module tree the virtio modules are taken from,
	// for a kernel that builds them as modules.
	ModulesDir string
	// GuestBinary is the guest binary (init, agent and suites): the one
	// guest/build.Guest builds, or patchtest itself (guest/build.Agent);
	// required.
	GuestBinary string
	// NoBusybox leaves busybox out of the guest even when the host has it.
	NoBusybox bool
	// Compression of the initramfs; initramfs.Default when empty.
	Compression initramfs.Compression
	Accel       Accelerator // Auto when empty
	// Clock is what guest time counts; Instructions applies under TCG
	// only (KVM and a fall-back that ends on KVM keep real time).
	Clock     Clock
	CPUs      int // 1 when zero
	MemoryMiB int // 512 when zero
	// Timeout bounds the boot under KVM; DefaultTimeout when zero.
	Timeout time.Duration
	// QEMU is the QEMU binary; qemu-system-x86_64 from PATH when empty.
	QEMU string
	// CacheDir holds the KVM verdict, the initramfs archives and, unless
	// ConsoleLog is set, the console logs.
	CacheDir string
	// ConsoleLog is the file the serial console is kept in.
	ConsoleLog string
	// KernelArgs are appended to the kernel command line.
	KernelArgs []string
	// Events receives what happens during the boot and the guest's life.
	// It is called from the machine's goroutines and must not block long.
	Events func(Event) `json:"-"`
	// Programs are dynamically linked host executables to copy into the
	// guest at the same paths, with their shared libraries.
	Programs []string
	// Trees are host directories copied whole into the guest (the peer
	// suites' selftests).
	Trees []initramfs.Tree
}

// DefaultCacheDir is $PATCHTEST_CACHE, or patchtest under the user's cache
// directory.
func DefaultCacheDir() string {
	if d := os.Getenv("PATCHTEST_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "patchtest")
	}
	return filepath.Join(os.TempDir(), "patchtest-cache")
}

// Boot prepares the guest's initramfs for o.Kernel and starts a machine.
func Boot(ctx context.Context, o BootOptions) (*Machine, error) {
	prepared := time.Now()
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	notice := func(msg string) {
		if o.Events != nil {
			o.Events(Event{Kind: EventNotice, Time: time.Now(), Msg: msg})
		}
	}
	kernel, err := InspectKernel(o.Kernel)
	if err != nil {
		return nil, err
	}
	q, err := FindQEMU(ctx, o.QEMU)
	if err != nil {
		return nil, err
	}
	agent := o.GuestBinary
	if agent == "" {
		return nil, &Error{Outcome: Infrastructure, Msg: "no guest binary given (guest/build.Guest builds it)"}
	}
	if _, err := os.Stat(agent); err != nil {
		return nil, &Error{Outcome: MissingFile, Msg: "guest binary", Err: err}
	}
	var busybox string
	if !o.NoBusybox {
		bb, err := FindBusybox()
		if err != nil {
			notice("guest without busybox (no shell, only the agent): " + err.Error())
		} else {
			busybox = bb
		}
	}
	img, err := PrepareImage(kernel, GuestImage{Agent: agent, Busybox: busybox, ModulesDir: o.ModulesDir, CacheDir: o.CacheDir, Compression: o.Compression, Programs: o.Programs, Trees: o.Trees})
	if err != nil {
		return nil, err
	}
	m, err := Start(ctx, Spec{BootOptions: o, Initramfs: img.Path, AgentBuildID: img.AgentBuildID, Prepared: prepared, found: &q})
	var kb *kvmBroken
	if errors.As(err, &kb) {
		err = &Error{Outcome: Infrastructure, Msg: "--accel kvm", Err: kb}
	}
	return m, err
}

// BootTimeout is the longest a boot with o may take before it fails:
// o.Timeout (DefaultTimeout when zero), scaled for TCG unless KVM was
// asked for.
func BootTimeout(o BootOptions) time.Duration {
	d := o.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	if o.Accel != KVM {
		d *= TCGScale
	}
	return d
}
