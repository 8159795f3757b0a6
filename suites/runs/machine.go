package runs

import (
	"strings"
	"time"
)

// Machine describes a guest as it booted: the kernel image, the QEMU
// that ran it, how guest time was kept, and what the guest's agent said
// when it answered. Its JSON is the runner's own description's.
type Machine struct {
	Kernel Image  `json:"kernel"`
	QEMU   QEMU   `json:"qemu"`
	Accel  string `json:"accel"`
	// Clock is what guest time counted: "real", or "icount shift=0,sleep=off".
	Clock       string `json:"clock,omitempty"`
	AccelNote   string `json:"accel_note,omitempty"`
	MachineType string `json:"machine_type"`
	CPUModel    string `json:"cpu_model"`
	CPUs        int    `json:"cpus"`
	MemoryMiB   int    `json:"memory_mib"`
	Cmdline     string `json:"cmdline"`
	ConsoleLog  string `json:"console_log"`
	Agent       Agent  `json:"agent"`
	// Prepare is the time spent before QEMU started (the guest binary,
	// the initramfs, the boot's keys); Ready the time from QEMU's start
	// to the agent's hello.
	Prepare time.Duration `json:"prepare_ns"`
	Ready   time.Duration `json:"ready_ns"`
}

// Accelerators a machine ran under.
const (
	KVM = "kvm"
	TCG = "tcg"
)

// InstructionClock starts the Clock of a machine whose guest time counted
// executed instructions.
const InstructionClock = "icount"

// Counted reports whether the machine's guest time counted instructions.
func (m Machine) Counted() bool { return strings.HasPrefix(m.Clock, InstructionClock) }

// Image is the kernel image a machine booted.
type Image struct {
	Path string
	// Version is the kernel's version string, as the image carries it.
	Version string
	// Protocol is the boot protocol version, e.g. 0x020f.
	Protocol uint16
}

// QEMU is the emulator that ran a machine.
type QEMU struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// Agent is what the guest's agent said when it answered.
type Agent struct {
	Version int    `json:"version"`
	BuildID string `json:"build_id"`
	Release string `json:"release"`
	Machine string `json:"machine"`
	// UptimeNS is the guest's CLOCK_BOOTTIME when it answered, InitNS
	// when init started.
	UptimeNS int64    `json:"uptime_ns"`
	InitNS   int64    `json:"init_ns"`
	Modules  []string `json:"modules,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Phases   []Phase  `json:"phases,omitempty"`
}

// Phase is a named moment of the guest's boot, as CLOCK_BOOTTIME in ns.
type Phase struct {
	Name string `json:"name"`
	NS   int64  `json:"ns"`
}
