package vm

import (
	"fmt"
	"strings"

	"github.com/patchtest/patchtest/guest/proto"
)

// Device is one part of a guest. Each device owns both halves of its
// configuration: the QEMU arguments and the kernel command-line arguments it
// needs. A guest's command line is the concatenation of its devices', so
// adding a device touches one type.
type Device interface {
	QEMUArgs() []string
	KernelArgs() []string
}

// Board is the machine type, its memory and its CPUs.
type Board struct {
	Type      string // QEMU machine type; "pc" when empty
	CPUs      int
	MemoryMiB int
}

// QEMUArgs implements Device.
func (m Board) QEMUArgs() []string {
	t := m.Type
	if t == "" {
		t = "pc"
	}
	return []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", t,
		"-smp", fmt.Sprint(max(m.CPUs, 1)),
		"-m", fmt.Sprint(max(m.MemoryMiB, 64)),
	}
}

// KernelArgs implements Device. panic=-1 makes a panicking kernel reboot at
// once, which -no-reboot turns into QEMU's exit.
func (m Board) KernelArgs() []string { return []string{"panic=-1"} }

// Accelerator is the way QEMU runs guest code.
type Accelerator string

// Accelerators. Auto verifies KVM and falls back to TCG.
const (
	Auto Accelerator = "auto"
	KVM  Accelerator = "kvm"
	TCG  Accelerator = "tcg"
)

// ParseAccelerator parses the --accel flag.
func ParseAccelerator(s string) (Accelerator, error) {
	switch a := Accelerator(s); a {
	case Auto, KVM, TCG:
		return a, nil
	}
	return "", fmt.Errorf("accelerator %q: want auto, kvm or tcg", s)
}

// CPUModel is the QEMU CPU model used with the accelerator.
func (a Accelerator) CPUModel() string {
	if a == KVM {
		return "host"
	}
	return "max"
}

// QEMUArgs implements Device.
func (a Accelerator) QEMUArgs() []string {
	return []string{"-accel", string(a), "-cpu", a.CPUModel()}
}

// KernelArgs implements Device. Under TCG the guest's TSC follows the
// host's clock, which stalls when the host is loaded: the kernel's
// clocksource watchdog would then mark it unstable and print a warning
// that is the host's doing, not the kernel's (seen in CI, in the middle
// of a case). tsc=reliable turns that watchdog off for the TSC.
func (a Accelerator) KernelArgs() []string {
	if a == TCG {
		return []string{"tsc=reliable"}
	}
	return nil
}

// Clock is what guest time counts: real time, or, under TCG, executed
// instructions.
type Clock string

// Clocks.
const (
	// RealTime is the host's time (the only clock under KVM).
	RealTime Clock = "real"
	// Instructions makes guest time a count of executed instructions
	// (-icount shift=0,sleep=off: one nanosecond per instruction, no
	// sleeping in real time). Host load no longer reaches what the guest
	// measures; MTTCG is off.
	Instructions Clock = "icount"
)

// ParseClock parses a clock's name; "" is RealTime.
func ParseClock(s string) (Clock, error) {
	switch c := Clock(s); c {
	case "", RealTime:
		return RealTime, nil
	case Instructions:
		return c, nil
	}
	return "", fmt.Errorf("clock %q: want real or icount", s)
}

// InstructionCounter is the -icount device of the Instructions clock.
type InstructionCounter struct{}

// QEMUArgs implements Device.
func (InstructionCounter) QEMUArgs() []string { return []string{"-icount", "shift=0,sleep=off"} }

// KernelArgs implements Device. noapictimer: the kernel calibrates its
// local APIC timer by spinning on cpu_relax() until a tenth of a second
// of jiffies has passed, and under the instruction clock each PAUSE of
// that loop leaves QEMU's translated code, so the calibration alone took
// 9-11 of the 11-15 s a boot took on 2 cores; without the APIC timer the
// (single) CPU ticks from the PIT and there is nothing to calibrate
// (2.5-3.4 s). The delay loop is already calibrated from the TSC.
//
// nohz=off and randomize_kstack_offset=off take two sources of spread out
// of what a sample counts, on kernels built with them (a kernel without
// either passes the word to init, which ignores it): the idle tick's
// stopping and restarting, which follows when the TCP paths' sender
// waits, and a random kernel stack offset at each system call. On a
// tinyconfig kernel with NO_HZ_IDLE, HZ_1000 and the offset on, a null
// quick run's CPU-per-byte spread on the TCP paths went from 0.6-1.4 %
// to 0.2-0.3 % with both (write/tcp stayed at 1-1.5 %).
func (InstructionCounter) KernelArgs() []string {
	return []string{"noapictimer", "nohz=off", "randomize_kstack_offset=off"}
}

// Console is the serial console on QEMU's standard output.
type Console struct{}

// QEMUArgs implements Device.
func (Console) QEMUArgs() []string {
	return []string{"-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0"}
}

// KernelArgs implements Device. loglevel=5 lets warnings and worse reach the
// console (WARN splats are printed at KERN_WARNING) without the chatter that
// slows an emulated UART.
func (Console) KernelArgs() []string { return []string{"console=ttyS0", "loglevel=5"} }

// PVPanic is QEMU's panic device: a guest with its driver reports a panic
// as the QMP event GUEST_PANICKED. It comes twice: the ISA device, found
// through ACPI (distribution kernels), and the PCI one, which needs no ACPI
// (patchtest's own small kernels).
type PVPanic struct{}

// QEMUArgs implements Device.
func (PVPanic) QEMUArgs() []string { return []string{"-device", "pvpanic", "-device", "pvpanic-pci"} }

// KernelArgs implements Device.
func (PVPanic) KernelArgs() []string { return nil }

// QMP is the QEMU monitor socket.
type QMP struct{ Socket string }

// QEMUArgs implements Device.
func (q QMP) QEMUArgs() []string {
	return []string{"-chardev", "socket,id=qmp0,path=" + q.Socket + ",server=on,wait=off", "-mon", "chardev=qmp0,mode=control"}
}

// KernelArgs implements Device.
func (QMP) KernelArgs() []string { return nil }

// AgentPort is the virtio-serial port that carries the SSH channel; its host
// side is a UNIX socket that QEMU listens on.
type AgentPort struct{ Socket string }

// QEMUArgs implements Device.
func (p AgentPort) QEMUArgs() []string {
	return []string{
		"-device", "virtio-serial-pci,id=vser0",
		"-chardev", "socket,id=agent0,path=" + p.Socket + ",server=on,wait=off",
		"-device", "virtserialport,bus=vser0.0,chardev=agent0,name=" + proto.PortName,
	}
}

// KernelArgs implements Device.
func (AgentPort) KernelArgs() []string { return nil }

// KernelBoot is the kernel, the initramfs and any extra kernel arguments.
type KernelBoot struct {
	Kernel, Initrd string
	Extra          []string
}

// QEMUArgs implements Device. KernelBoot's -append is added by Cmdline, which
// knows every device's kernel arguments.
func (b KernelBoot) QEMUArgs() []string { return []string{"-kernel", b.Kernel, "-initrd", b.Initrd} }

// KernelArgs implements Device.
func (b KernelBoot) KernelArgs() []string { return append([]string{"rdinit=/init"}, b.Extra...) }

// Cmdline returns the QEMU arguments for devices, -append included.
func Cmdline(devices ...Device) []string {
	var args, kargs []string
	for _, d := range devices {
		args = append(args, d.QEMUArgs()...)
		kargs = append(kargs, d.KernelArgs()...)
	}
	if len(kargs) > 0 {
		args = append(args, "-append", strings.Join(kargs, " "))
	}
	return args
}

// ShellQuote quotes argv so that it can be pasted into a POSIX shell.
func ShellQuote(argv []string) string { return proto.QuoteArgs(argv) }
