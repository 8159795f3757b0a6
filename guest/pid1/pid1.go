// Package pid1 is the guest's init: it prepares the minimal system the agent
// needs (file systems, loopback, kernel modules, the virtio port), starts the
// agent as its child, reaps every orphan, and powers the guest off when the
// agent is gone.
//
// Init reports to the host only through the serial console, on lines that
// begin with proto.ConsolePrefix; a line with proto.FatalMarker tells the host
// that the agent will never answer and why.
package pid1

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/guest/agent"
	"github.com/patchtest/patchtest/guest/proto"
)

// EnvRole is set to RoleAgent in the environment of the agent that init
// starts by running its own executable again.
const (
	EnvRole   = "PATCHTEST_ROLE"
	RoleAgent = "agent"
)

// portWait bounds the wait for the virtio port to appear after modules load.
const portWait = 5 * time.Second

// Main runs init. It never returns: the guest powers off at the end.
func Main() {
	start := Boottime()
	phases := []proto.Phase{{Name: "init", NS: start.Nanoseconds()}}
	mark := func(name string) { phases = append(phases, proto.Phase{Name: name, NS: Boottime().Nanoseconds()}) }
	console := openConsole()
	say := func(format string, a ...any) {
		fmt.Fprintf(console, proto.ConsolePrefix+format+"\n", a...)
	}
	fatal := func(format string, a ...any) {
		say(proto.FatalMarker+format, a...)
		powerOff()
	}

	if err := mountAll(); err != nil {
		fatal("%v", err)
	}
	var warnings []string
	if err := loopbackUp(); err != nil {
		warnings = append(warnings, fmt.Sprintf("loopback: %v", err))
	}
	_ = unix.Sethostname([]byte("patchtest"))
	mark("mounted")

	loaded, modWarnings := loadModules(proto.ModulesListPath)
	warnings = append(warnings, modWarnings...)
	for _, w := range modWarnings {
		say("warning: %s", w)
	}
	if len(loaded) > 0 {
		mark("modules")
	}

	port, err := findPort(proto.PortName, portWait)
	if err != nil {
		fatal("%v", err)
	}
	mark("port")

	self, err := os.Executable()
	if err != nil {
		self = "/init"
	}
	child := exec.Command(self)
	child.Env = append(baseEnv(),
		EnvRole+"="+RoleAgent,
		agent.EnvPort+"="+port,
		fmt.Sprintf("%s=%d", agent.EnvInitNS, start.Nanoseconds()),
		agent.EnvModules+"="+strings.Join(loaded, ","),
		agent.EnvWarnings+"="+strings.Join(warnings, "\n"),
		agent.EnvPhases+"="+proto.FormatPhases(append(phases, proto.Phase{Name: "exec-agent", NS: Boottime().Nanoseconds()})),
	)
	child.Stdout, child.Stderr = console, console
	if err := child.Start(); err != nil {
		fatal("start agent: %v", err)
	}
	status := reapUntil(child.Process.Pid)
	fatal("agent exited (%s)", status)
}

// Boottime returns CLOCK_BOOTTIME, the time since the guest kernel started.
func Boottime() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Duration(ts.Nano())
}

// baseEnv is the environment of the agent and everything it starts.
func baseEnv() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=linux"}
}

// openConsole makes /dev/console init's standard streams. The kernel opens it
// before running init when the initramfs has the node; when it has not, init
// opens it itself once devtmpfs is mounted.
func openConsole() *os.File {
	if _, err := unix.FcntlInt(1, unix.F_GETFD, 0); err == nil {
		return os.Stdout
	}
	_ = os.MkdirAll("/dev", 0o755)
	_ = unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	f, err := os.OpenFile("/dev/console", os.O_RDWR, 0)
	if err != nil {
		return os.Stderr // nothing better exists; writes will fail quietly
	}
	for fd := 0; fd < 3; fd++ {
		_ = unix.Dup2(int(f.Fd()), fd)
	}
	return f
}

type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool // the kernel may lack it; go on without
}

var mounts = []mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755", false},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "mode=0620,ptmxmode=0666", true},
	{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777", true},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777", true},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755", true},
}

func mountAll() error {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil && !m.optional {
			return fmt.Errorf("mkdir %s: %w", m.target, err)
		}
		err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data)
		if errors.Is(err, unix.EBUSY) {
			continue // already mounted (devtmpfs by openConsole)
		}
		if err != nil && !m.optional {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return nil
}

// loopbackUp sets lo up; the kernel gives it 127.0.0.1 and ::1 itself.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// loadModules loads the modules listed in list, in order. A module the
// kernel already has is fine; any other failure becomes a warning, since the
// port lookup that follows says clearly what is missing.
func loadModules(list string) (loaded, warnings []string) {
	b, err := os.ReadFile(list)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("read module list: %v", err)}
	}
	for _, path := range strings.Fields(string(b)) {
		name := strings.TrimSuffix(filepath.Base(path), ".ko")
		image, err := os.ReadFile(path)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("module %s: %v", name, err))
			continue
		}
		err = unix.InitModule(image, "")
		switch {
		case err == nil:
			loaded = append(loaded, name)
		case errors.Is(err, unix.EEXIST):
		default:
			warnings = append(warnings, fmt.Sprintf("load module %s: %v", name, err))
		}
	}
	return loaded, warnings
}

// findPort returns the device node of the virtio-serial port called name,
// waiting up to wait for it to appear.
func findPort(name string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		matches, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil || strings.TrimSpace(string(b)) != name {
				continue
			}
			dev := "/dev/" + filepath.Base(filepath.Dir(m))
			if _, err := os.Stat(dev); err == nil {
				return dev, nil
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	why := "the kernel has no virtio-serial port"
	if _, err := os.Stat("/sys/class/virtio-ports"); err != nil {
		why = "the kernel has no virtio console driver (CONFIG_VIRTIO_CONSOLE and CONFIG_VIRTIO_PCI, built in or given with --modules)"
	}
	return "", fmt.Errorf("no virtio port named %s after %v: %s", name, wait, why)
}

// reapUntil reaps every child that exits, orphans included, until pid does,
// and returns how pid ended.
func reapUntil(pid int) string {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Sprintf("wait: %v", err)
		}
		if got != pid {
			continue
		}
		if ws.Signaled() {
			return "signal " + ws.Signal().String()
		}
		return fmt.Sprintf("status %d", ws.ExitStatus())
	}
}

// powerOff syncs and powers the guest off. QEMU runs with -no-reboot, so
// even a kernel that reboots instead ends the VM.
func powerOff() {
	unix.Sync()
	if _, err := os.Stat("/sys/firmware/acpi"); err != nil {
		// Without ACPI an x86 kernel cannot power the machine off, only
		// halt it; a reset ends QEMU at once.
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	}
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		time.Sleep(time.Hour) // PID 1 must not exit: that panics the kernel
	}
}

// PowerOff powers the guest off; the agent calls it on the host's request.
func PowerOff() { powerOff() }
