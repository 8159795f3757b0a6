package kconfig

import (
	"fmt"
	"strings"
)

// Limit is something a kernel cannot report or do, read from its
// configuration.
type Limit struct {
	// Option is the option whose absence causes it; empty when the
	// configuration itself is unknown.
	Option string `json:"option,omitempty"`
	Effect string `json:"effect"`
}

func (l Limit) String() string {
	if l.Option == "" {
		return l.Effect
	}
	return l.Effect + " (" + l.Option + " is not set)"
}

// Capabilities is what a kernel can report, known before it boots.
type Capabilities struct {
	// Config is where its configuration was read; empty when none was
	// found.
	Config string `json:"config,omitempty"`
	// Limits are the detectors and facilities it lacks.
	Limits []Limit `json:"limits,omitempty"`
}

// Unknown reports whether the configuration could not be found.
func (c Capabilities) Unknown() bool { return c.Config == "" }

// Lacks reports whether the kernel is known to lack opt.
func (c Capabilities) Lacks(opt string) bool {
	for _, l := range c.Limits {
		if l.Option == opt {
			return true
		}
	}
	return false
}

// detectors are the options that let a kernel report its own faults, and
// what is lost without each.
var detectors = []Limit{
	{"CONFIG_PRINTK", "the kernel prints nothing: no report of any kind can be detected"},
	{"CONFIG_BUG", "WARN() and BUG() print nothing: kernel warnings cannot be detected"},
	{"CONFIG_DETECT_HUNG_TASK", "no hung-task reports: hangs are found by timeouts alone"},
	{"CONFIG_SOFTLOCKUP_DETECTOR", "no soft-lockup reports: a CPU stuck in the kernel is found by timeouts alone"},
	{"CONFIG_KALLSYMS", "stack traces in reports have no symbol names"},
	{"CONFIG_MAGIC_SYSRQ", "no blocked-task dump (sysrq) as evidence of a hang"},
	{"CONFIG_PVPANIC", "a panic is recognised from the console alone (no pvpanic device)"},
}

// DetectorOptions are the options Assess checks, for comparing two
// kernels' configurations.
func DetectorOptions() []string {
	out := make([]string, len(detectors))
	for i, d := range detectors {
		out[i] = d.Option
	}
	return out
}

// agentNeeds are the options without which the guest cannot boot its
// initramfs or reach the agent: the initramfs, ELF binaries, /dev, /proc,
// /sys, what the Go runtime needs, and the virtio console the agent talks
// over.
var agentNeeds = []string{
	"CONFIG_BLK_DEV_INITRD", "CONFIG_BINFMT_ELF", "CONFIG_DEVTMPFS", "CONFIG_PROC_FS", "CONFIG_SYSFS",
	"CONFIG_FUTEX", "CONFIG_EPOLL", "CONFIG_TTY", "CONFIG_VIRTIO_PCI", "CONFIG_VIRTIO_CONSOLE",
}

// Assess says what a kernel with configuration c can report. c may be nil
// (unknown). modules says whether a module tree comes with the kernel. The
// error says when the kernel cannot host patchtest's agent at
// all: it names the missing options and the fragment that adds them.
func Assess(c *Config, modules bool, image string) (Capabilities, error) {
	if c == nil {
		return Capabilities{Limits: []Limit{{Effect: "its configuration was not found (no CONFIG_IKCONFIG, no config beside the image): what it can report is unknown"}}}, nil
	}
	caps := Capabilities{Config: c.From}
	for _, d := range detectors {
		if !c.Enabled(d.Option) {
			caps.Limits = append(caps.Limits, d)
		}
	}
	var missing, modular []string
	for _, opt := range agentNeeds {
		switch v := c.Value(opt); {
		case v == "y":
		case v == "m" && modules && strings.HasPrefix(opt, "CONFIG_VIRTIO"):
		case v == "m" && strings.HasPrefix(opt, "CONFIG_VIRTIO"):
			modular = append(modular, opt)
		default:
			missing = append(missing, opt)
		}
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, fmt.Sprintf("%s not set (config %s)", strings.Join(missing, ", "), c.From))
	}
	if len(modular) > 0 {
		why = append(why, fmt.Sprintf("%s built as modules and no module tree given (--modules /lib/modules/RELEASE)", strings.Join(modular, ", ")))
	}
	if len(why) > 0 {
		return caps, fmt.Errorf("kernel %s cannot host patchtest's agent: %s; build it with configs/kernel/guest.config merged (scripts/kconfig/merge_config.sh .config configs/kernel/guest.config, then make olddefconfig)", image, strings.Join(why, "; "))
	}
	return caps, nil
}
