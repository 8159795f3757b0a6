package vm_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/initramfs"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// The boot benchmarks compare patchtest's boot-to-ready (QEMU start to the
// agent's hello, everything patchtest adds included) with a bare boot of
// the same kernel: qemu -kernel K -initrd busybox.cpio, timed from QEMU's
// start to the first line its /init prints. Both run under the same
// accelerator (auto: TCG where KVM is broken). Compare the s/boot metrics:
//
//	go test ./vm -run '^$' -bench Boot -benchtime 5x

const bareMarker = "BARE-INIT-REACHED"

// BenchmarkBootToReady boots the same kernel bare and through patchtest
// (once per initramfs compression) in turn, so that the host's noise hits
// every variant alike, and reports each one's mean seconds per boot and
// its ratio to the bare boot.
func BenchmarkBootToReady(b *testing.B) {
	integration(b)
	img := vmtest.Debian(b, "6.12-amd64")
	bare := newBareBoot(b, img.Kernel)
	comps := []initramfs.Compression{initramfs.None, initramfs.Gzip, initramfs.Zstd}
	ready := make(map[initramfs.Compression]time.Duration)
	var bareTotal time.Duration
	for b.Loop() {
		bareTotal += bare.run(b)
		for _, c := range comps {
			m, err := vm.Boot(context.Background(), vm.BootOptions{
				Kernel: img.Kernel, GuestBinary: vmtest.Guest(b), CacheDir: vm.DefaultCacheDir(),
				Compression: c,
			})
			if err != nil {
				b.Fatal(err)
			}
			ready[c] += m.Info().Ready
			m.Close()
		}
	}
	n := float64(b.N)
	b.ReportMetric(bareTotal.Seconds()/n, "bare-s/boot")
	for _, c := range comps {
		b.ReportMetric(ready[c].Seconds()/n, string(c)+"-s/boot")
		b.ReportMetric(ready[c].Seconds()/bareTotal.Seconds(), string(c)+"-x-bare")
	}
	b.Logf("accel %s", bare.accel)
}

// bareBoot is qemu -kernel K -initrd busybox.cpio.gz with an /init that
// prints a marker, timed from QEMU's start to the marker.
type bareBoot struct {
	kernel, initrd, accel string
}

func newBareBoot(b *testing.B, kernel string) *bareBoot {
	bb, err := vm.FindBusybox()
	if err != nil {
		b.Skip(err)
	}
	initrd := filepath.Join(b.TempDir(), "busybox.cpio.gz")
	f, err := os.Create(initrd)
	if err != nil {
		b.Fatal(err)
	}
	bin, _ := os.ReadFile(bb)
	err = initramfs.Compress(f, []initramfs.File{
		{Path: "/bin/busybox", Mode: 0o755, Data: bin},
		{Path: "/bin/sh", Link: "busybox"},
		{Path: "/init", Mode: 0o755, Data: []byte("#!/bin/sh\necho " + bareMarker + "\nexec /bin/busybox poweroff -f\n")},
	}, initramfs.Gzip)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	accel := "tcg"
	if vm.KVMDevice("") == nil {
		if v, ok := vm.LoadKVMVerdict(vm.DefaultCacheDir(), vm.HostKeyFor(qemuVersion(b))); ok && v.Works {
			accel = "kvm"
		}
	}
	return &bareBoot{kernel: kernel, initrd: initrd, accel: accel}
}

func (bb *bareBoot) run(b *testing.B) time.Duration {
	cpu := map[string]string{"tcg": "max", "kvm": "host"}[bb.accel]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "pc", "-accel", bb.accel, "-cpu", cpu, "-m", "512",
		"-kernel", bb.kernel, "-initrd", bb.initrd,
		"-append", "console=ttyS0 loglevel=5 panic=-1",
		"-serial", "stdio")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	s := bufio.NewScanner(out)
	for s.Scan() {
		if strings.Contains(s.Text(), bareMarker) {
			return time.Since(start)
		}
	}
	b.Fatal("bare boot never reached /init")
	return 0
}

func qemuVersion(b *testing.B) string {
	q, err := vm.FindQEMU(context.Background(), "")
	if err != nil {
		b.Skip(err)
	}
	return q.Version
}

// BenchmarkBootToReadyInstructionClock boots the project's stock kernel
// under TCG with the instruction clock, as perf boots it, and reports
// the mean seconds from QEMU's start to the agent's hello:
//
//	go test ./vm -run '^$' -bench BootToReadyInstructionClock -benchtime 5x
func BenchmarkBootToReadyInstructionClock(b *testing.B) {
	integration(b)
	kernel := vmtest.Built(b, kernels.Request{Source: kernels.DefaultSource}).BzImage
	var total time.Duration
	for b.Loop() {
		m, err := vm.Boot(context.Background(), vm.BootOptions{
			Kernel: kernel, GuestBinary: vmtest.Guest(b), CacheDir: vm.DefaultCacheDir(),
			Accel: vm.TCG, Clock: vm.Instructions,
		})
		if err != nil {
			b.Fatal(err)
		}
		total += m.Info().Ready
		m.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/boot")
}
