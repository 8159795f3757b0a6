package vm

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"golang.org/x/crypto/ssh"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/vm/console"
)

// DefaultTimeout bounds a boot, from QEMU's start to the agent's hello,
// under KVM; under TCG it is multiplied by TCGScale.
const DefaultTimeout = 30 * time.Second

// Spec describes one guest: the boot's options (of which Start uses the
// kernel, the machine's accelerator, CPUs, memory and timeout, QEMU, the
// cache and console log, the kernel arguments and the events) and the
// image prepared for it.
type Spec struct {
	BootOptions
	// Initramfs is the base archive from BuildInitramfs; each boot appends
	// its own keys to a copy of it.
	Initramfs string
	// AgentBuildID is the Go build ID of the guest binary in Initramfs;
	// the handshake refuses any other agent.
	AgentBuildID string
	// KVMDevice is the device whose access decides whether KVM is tried;
	// /dev/kvm when empty.
	KVMDevice string
	// KVMProgress bounds the wait for a KVM guest's first console line
	// before KVM counts as broken; 20s when zero.
	KVMProgress time.Duration
	// Prepared is when preparing the boot began, for Info.Prepare; Start's
	// own start when zero.
	Prepared time.Time
	// found is QEMU as Boot already found it, sparing a second --version.
	found *QEMUInfo
}

// EventKind names a kind of Event.
type EventKind string

// Event kinds.
const (
	EventNotice  EventKind = "notice"  // something the user should read (KVM fallback…)
	EventStarted EventKind = "started" // QEMU is running
	EventReady   EventKind = "ready"   // the agent answered the handshake
	EventReport  EventKind = "report"  // the kernel printed a report
	EventQMP     EventKind = "qmp"     // a QMP event arrived
	EventExited  EventKind = "exited"  // QEMU exited
)

// Event is one thing that happened to a machine.
type Event struct {
	Kind   EventKind
	Time   time.Time
	Msg    string
	Report *console.Report
}

// Info is what patchtest records with every boot.
type Info struct {
	Kernel KernelImage `json:"kernel"`
	QEMU   QEMUInfo    `json:"qemu"`
	Accel  Accelerator `json:"accel"`
	// Clock is what guest time counted: "real", or "icount shift=0,sleep=off".
	Clock       string      `json:"clock,omitempty"`
	AccelNote   string      `json:"accel_note,omitempty"`
	MachineType string      `json:"machine_type"`
	CPUModel    string      `json:"cpu_model"`
	CPUs        int         `json:"cpus"`
	MemoryMiB   int         `json:"memory_mib"`
	Cmdline     string      `json:"cmdline"`
	ConsoleLog  string      `json:"console_log"`
	Agent       proto.Hello `json:"agent"`
	// Prepare is the time spent before QEMU started: building the guest
	// binary and initramfs (or finding them cached) and the boot's keys.
	Prepare time.Duration `json:"prepare_ns"`
	// Ready is the time from QEMU's start to the agent's hello.
	Ready time.Duration `json:"ready_ns"`
}

// Machine is a running guest whose agent has answered.
type Machine struct {
	spec Spec
	info Info

	dir     string
	args    []string
	cmd     *exec.Cmd
	log     *os.File
	mon     *qmp.SocketMonitor
	client  *ssh.Client
	started time.Time

	lines      chan string // console lines; closed when QEMU has exited
	errLines   chan string
	qmpEvents  chan qmp.Event
	done       chan struct{} // closed when the monitor loop ends
	dead       chan struct{} // closed at the first fault
	exited     chan struct{} // closed when QEMU has exited and its output is read
	firstLine  chan struct{}
	closeOnce  sync.Once
	closeErr   error
	splitter   console.Splitter
	stderrTail tailBuffer

	mu       sync.Mutex
	detector console.Detector
	tail     []string
	history  []string // the last historyLines console lines
	lineNo   int      // console lines seen
	fault    *Error
	ready    bool
	closing  bool
	exitErr  error
	gotFirst bool
}

// tailLines is how many console lines an error shows.
const tailLines = 30

// Info describes the machine.
func (m *Machine) Info() Info { return m.info }

// Reports returns the kernel reports printed on the console so far.
func (m *Machine) Reports() []console.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.detector.Reports()
}

// Err returns the machine's fault once it has one (the kernel panicked,
// QEMU exited…), or nil while it is healthy.
func (m *Machine) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fault == nil {
		return nil
	}
	return m.fault
}

// Close shuts the guest down: it asks the agent to power off, then QEMU to
// quit, then kills it, and removes the machine's sockets and files. The
// console log is kept.
func (m *Machine) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Machine) close() error {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	if m.cmd != nil && m.cmd.Process != nil {
		exited := false
		if m.client != nil {
			_, _, _ = m.client.SendRequest(proto.RequestPowerOff, false, nil)
			exited = m.waitExit(5 * time.Second)
		}
		if !exited {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := m.qmpRun(ctx, qmpCommand{Execute: "quit"})
			cancel()
			if err != nil || !m.waitExit(3*time.Second) {
				_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
				m.waitExit(10 * time.Second)
			}
		}
	}
	if m.client != nil {
		m.client.Close()
	}
	m.mu.Lock()
	mon := m.mon
	m.mu.Unlock()
	if mon != nil {
		mon.Disconnect()
	}
	if m.log != nil {
		m.log.Close()
	}
	return os.RemoveAll(m.dir)
}

func (m *Machine) waitExit(d time.Duration) bool {
	select {
	case <-m.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// WriteJSON writes the boot record as indented JSON.
func (i Info) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(i)
}
