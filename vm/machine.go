package vm

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"golang.org/x/crypto/ssh"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/vm/console"
	"github.com/patchtest/patchtest/vm/initramfs"
)

// DefaultTimeout bounds a boot, from QEMU's start to the agent's hello,
// under KVM; under TCG it is multiplied by TCGScale.
const DefaultTimeout = 30 * time.Second

// Spec describes one guest.
type Spec struct {
	// Kernel is the bzImage to boot.
	Kernel string
	// Initramfs is the base archive from BuildInitramfs; each boot appends
	// its own keys to a copy of it.
	Initramfs string
	// AgentBuildID is the Go build ID of the guest binary in Initramfs;
	// the handshake refuses any other agent.
	AgentBuildID string

	Accel     Accelerator // Auto when empty
	CPUs      int         // 1 when zero
	MemoryMiB int         // 512 when zero
	// Timeout bounds the boot under KVM; DefaultTimeout when zero.
	Timeout time.Duration
	// QEMU is the QEMU binary; qemu-system-x86_64 from PATH when empty.
	QEMU string
	// KVMDevice is the device whose access decides whether KVM is tried;
	// /dev/kvm when empty.
	KVMDevice string
	// KVMProgress bounds the wait for a KVM guest's first console line
	// before KVM counts as broken; 20s when zero.
	KVMProgress time.Duration
	// CacheDir holds the KVM verdict and, unless ConsoleLog is set, the
	// console logs.
	CacheDir string
	// ConsoleLog is the file the serial console is kept in.
	ConsoleLog string
	// KernelArgs are appended to the kernel command line.
	KernelArgs []string
	// Prepared is when preparing the boot began, for Info.Prepare; Start's
	// own start when zero.
	Prepared time.Time
	// found is QEMU as Boot already found it, sparing a second --version.
	found *QEMUInfo
	// Events receives what happens during the boot and the guest's life.
	// It is called from the machine's goroutines and must not block long.
	Events func(Event)
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
	Kernel      KernelImage `json:"kernel"`
	QEMU        QEMUInfo    `json:"qemu"`
	Accel       Accelerator `json:"accel"`
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

// Start boots a guest and waits until its agent answers. When the
// accelerator is Auto it verifies KVM, falling back to TCG with a notice.
// The caller must Close the machine.
func Start(ctx context.Context, spec Spec) (*Machine, error) {
	kernel, err := InspectKernel(spec.Kernel)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(spec.Initramfs); err != nil {
		return nil, &Error{Outcome: MissingFile, Msg: "initramfs", Err: err}
	}
	var q QEMUInfo
	if spec.found != nil {
		q = *spec.found
	} else if q, err = FindQEMU(ctx, spec.QEMU); err != nil {
		return nil, err
	}
	if spec.Accel == "" {
		spec.Accel = Auto
	}
	notice := func(msg string) {
		if spec.Events != nil {
			spec.Events(Event{Kind: EventNotice, Time: time.Now(), Msg: msg})
		}
	}
	switch spec.Accel {
	case TCG:
		return launch(ctx, spec, kernel, q, TCG, "requested", false)
	case KVM:
		if err := KVMDevice(spec.KVMDevice); err != nil {
			return nil, &Error{Outcome: Infrastructure, Msg: "--accel kvm", Err: err}
		}
		m, err := launch(ctx, spec, kernel, q, KVM, "requested", true)
		var kb *kvmBroken
		if errors.As(err, &kb) {
			return nil, &Error{Outcome: Infrastructure, Msg: "--accel kvm (try --accel auto or tcg)", Err: kb}
		}
		return m, err
	}
	if err := KVMDevice(spec.KVMDevice); err != nil {
		note := fmt.Sprintf("KVM unusable (%v); using TCG", err)
		notice(note)
		return launch(ctx, spec, kernel, q, TCG, note, false)
	}
	key := HostKeyFor(q.Version)
	if v, ok := LoadVerdict(spec.CacheDir, key); ok {
		if v.Works {
			m, err := launch(ctx, spec, kernel, q, KVM, "verified earlier", true)
			var kb *kvmBroken
			if errors.As(err, &kb) {
				// It worked once; say so rather than silently retrying.
				_ = ForgetVerdict(spec.CacheDir)
				return nil, &Error{Outcome: Infrastructure, Msg: "KVM, verified earlier on this host, failed now; the verdict is forgotten, run again to re-test", Err: kb}
			}
			return m, err
		}
		note := fmt.Sprintf("KVM broken on this host (%s, found %s); using TCG — `patchtest doctor --recheck-kvm` tests it again", v.Reason, v.Checked.Format(time.DateOnly))
		notice(note)
		return launch(ctx, spec, kernel, q, TCG, note, false)
	}
	m, err := launch(ctx, spec, kernel, q, KVM, "verified now", true)
	var kb *kvmBroken
	if !errors.As(err, &kb) {
		if err == nil {
			_ = SaveVerdict(spec.CacheDir, Verdict{HostKey: key, Works: true, Checked: time.Now()})
		}
		return m, err
	}
	note := fmt.Sprintf("KVM does not work on this host (%s); falling back to TCG", kb.reason)
	notice(note)
	m, err = launch(ctx, spec, kernel, q, TCG, note, false)
	if err == nil {
		// TCG booting the same kernel proves the kernel was not to blame.
		_ = SaveVerdict(spec.CacheDir, Verdict{HostKey: key, Works: false, Reason: kb.reason, Checked: time.Now()})
	}
	return m, err
}

// kvmBroken is launch's error when a KVM probe failed.
type kvmBroken struct{ reason string }

func (k *kvmBroken) Error() string { return "KVM broken: " + k.reason }

func launch(ctx context.Context, spec Spec, kernel KernelImage, q QEMUInfo, accel Accelerator, accelNote string, probe bool) (*Machine, error) {
	if spec.CPUs <= 0 {
		spec.CPUs = 1
	}
	if spec.MemoryMiB <= 0 {
		spec.MemoryMiB = 512
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if accel == TCG {
		timeout *= TCGScale
	}
	progressLimit := spec.KVMProgress
	if progressLimit <= 0 {
		progressLimit = kvmProgress
	}
	dir, err := os.MkdirTemp("", "patchtest-vm-")
	if err != nil {
		return nil, &Error{Outcome: Infrastructure, Msg: "make VM directory", Err: err}
	}
	m := &Machine{
		spec:      spec,
		dir:       dir,
		lines:     make(chan string, 4096),
		errLines:  make(chan string, 64),
		qmpEvents: make(chan qmp.Event, 64),
		done:      make(chan struct{}),
		dead:      make(chan struct{}),
		exited:    make(chan struct{}),
		firstLine: make(chan struct{}),
		detector:  console.Detector{Ignore: []string{proto.ConsolePrefix}},
		info: Info{
			Kernel: kernel, QEMU: q, Accel: accel, AccelNote: accelNote,
			CPUModel: accel.CPUModel(), CPUs: spec.CPUs, MemoryMiB: spec.MemoryMiB,
		},
	}
	ok := false
	defer func() {
		if !ok {
			m.Close()
		}
	}()

	hostSigner, hostKeyPEM, err := newKey()
	if err != nil {
		return nil, m.infra("make host key", err)
	}
	clientSigner, _, err := newKey()
	if err != nil {
		return nil, m.infra("make client key", err)
	}
	initrd := filepath.Join(dir, "initramfs.cpio")
	err = initramfs.Assemble(initrd, spec.Initramfs, []initramfs.File{
		{Path: proto.HostKeyPath, Mode: 0o600, Data: hostKeyPEM},
		{Path: proto.AuthorizedKeyPath, Mode: 0o644, Data: ssh.MarshalAuthorizedKey(clientSigner.PublicKey())},
		{Path: proto.BuildIDPath, Mode: 0o644, Data: []byte(spec.AgentBuildID + "\n")},
	})
	if err != nil {
		return nil, m.infra("initramfs", err)
	}

	if m.info.ConsoleLog, err = consoleLogPath(spec); err != nil {
		return nil, m.infra("console log", err)
	}
	if m.log, err = os.Create(m.info.ConsoleLog); err != nil {
		return nil, m.infra("console log", err)
	}

	qmpSock := filepath.Join(dir, "qmp.sock")
	agentSock := filepath.Join(dir, "agent.sock")
	args := Cmdline(
		Board{CPUs: spec.CPUs, MemoryMiB: spec.MemoryMiB},
		accel,
		Console{},
		PVPanic{},
		QMP{Socket: qmpSock},
		AgentPort{Socket: agentSock},
		KernelBoot{Kernel: spec.Kernel, Initrd: initrd, Extra: spec.KernelArgs},
	)
	m.args = args
	m.info.Cmdline = ShellQuote(append([]string{q.Path}, args...))
	m.cmd = exec.Command(q.Path, args...)
	m.cmd.Stdout = consoleSink{m}
	m.cmd.Stderr = stderrSink{m}
	// Its own process group keeps a terminal's ^C away from QEMU, so that
	// patchtest shuts it down in order; Pdeathsig ends it if patchtest dies.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	m.started = time.Now()
	if spec.Prepared.IsZero() {
		spec.Prepared = m.started
	}
	m.info.Prepare = m.started.Sub(spec.Prepared)
	if err := m.cmd.Start(); err != nil {
		return nil, m.infra("start "+q.Path, err)
	}
	go m.wait()
	go m.monitor()
	m.emit(Event{Kind: EventStarted, Msg: fmt.Sprintf("%s, %s accel, %d CPU, %d MiB", kernel, accel, spec.CPUs, spec.MemoryMiB)})

	bootCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	qmpCtx, qmpCancel := bootCtx, context.CancelFunc(func() {})
	if probe {
		qmpCtx, qmpCancel = context.WithTimeout(bootCtx, progressLimit)
	}
	err = m.connectQMP(qmpCtx, qmpSock)
	probeExpired := errors.Is(qmpCtx.Err(), context.DeadlineExceeded) && bootCtx.Err() == nil && m.Err() == nil
	qmpCancel()
	if err != nil {
		if probe && probeExpired {
			return nil, &kvmBroken{reason: fmt.Sprintf("QEMU's monitor did not answer within %v", progressLimit)}
		}
		return nil, m.failure(ctx, bootCtx, timeout, err)
	}
	m.info.MachineType = m.machineType(bootCtx)

	type result struct {
		client *ssh.Client
		hello  proto.Hello
		err    error
	}
	hs := make(chan result, 1)
	go func() {
		c, h, err := m.handshake(bootCtx, agentSock, hostSigner.PublicKey(), clientSigner)
		hs <- result{c, h, err}
	}()
	var progress <-chan time.Time
	if probe {
		t := time.NewTimer(progressLimit)
		defer t.Stop()
		progress = t.C
	}
	for {
		select {
		case r := <-hs:
			if r.err != nil {
				return nil, m.failure(ctx, bootCtx, timeout, r.err)
			}
			m.client = r.client
			m.info.Agent = r.hello
			m.info.Ready = time.Since(m.started)
			m.mu.Lock()
			m.ready = true
			m.mu.Unlock()
			m.emit(Event{Kind: EventReady, Msg: fmt.Sprintf("agent ready after %v (kernel %s)", m.info.Ready.Round(time.Millisecond), r.hello.Release)})
			ok = true
			return m, nil
		case <-m.dead:
			return nil, m.failure(ctx, bootCtx, timeout, nil)
		case <-bootCtx.Done():
			return nil, m.failure(ctx, bootCtx, timeout, nil)
		case <-progress:
			select {
			case <-m.firstLine:
			default:
				return nil, &kvmBroken{reason: fmt.Sprintf("guest printed nothing within %v", progressLimit)}
			}
		}
	}
}

// failure turns a failed boot into its error. A fault the monitor saw
// wins over the error that surfaced it (a handshake broken by a panic is a
// panic).
func (m *Machine) failure(ctx, bootCtx context.Context, timeout time.Duration, err error) error {
	select {
	case <-m.dead:
	default:
		// Give a fault being reported now a moment to arrive: QEMU
		// aborting breaks the monitor's connection a little before its
		// exit and its last words on stderr are seen.
		wait := 100 * time.Millisecond
		if err != nil && bootCtx.Err() == nil {
			wait = time.Second
		}
		select {
		case <-m.dead:
		case <-time.After(wait):
		}
	}
	m.mu.Lock()
	fault := m.fault
	m.mu.Unlock()
	if fault != nil {
		var kb *kvmBroken
		if errors.As(fault.Err, &kb) {
			return kb
		}
		if fault.Outcome == KernelPanic {
			// Let the rest of the panic reach the console.
			select {
			case <-m.exited:
			case <-time.After(3 * time.Second):
			}
		}
		return m.decorate(fault)
	}
	if ctx.Err() != nil {
		return m.decorate(&Error{Outcome: Interrupted, Msg: "boot interrupted", Err: context.Cause(ctx)})
	}
	if bootCtx.Err() != nil {
		return m.decorate(&Error{Outcome: NoOutput, Msg: fmt.Sprintf("agent not ready within %v (%s)", timeout, m.info.Accel)})
	}
	var e *Error
	if errors.As(err, &e) {
		return m.decorate(e)
	}
	return m.decorate(&Error{Outcome: Infrastructure, Msg: "boot", Err: err})
}

// decorate adds the console's evidence and the command line to e.
func (m *Machine) decorate(e *Error) *Error {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := *e
	out.Reports = m.detector.Reports()
	out.ConsoleTail = append([]string(nil), m.tail...)
	out.ConsoleLog = m.info.ConsoleLog
	out.Cmdline = m.reproduce()
	return &out
}

// reproduce returns a shell command that boots this guest again by hand:
// the boot's initramfs is kept beside the console log, and the sockets go
// to a directory that outlives the machine's private one.
func (m *Machine) reproduce() string {
	if m.args == nil {
		return ""
	}
	initrd := filepath.Join(m.dir, "initramfs.cpio")
	kept := strings.TrimSuffix(m.info.ConsoleLog, ".log") + ".initramfs.cpio"
	if err := copyFile(kept, initrd); err != nil {
		return m.info.Cmdline
	}
	const dir = "/tmp/patchtest-repro"
	argv := []string{m.info.QEMU.Path}
	for _, a := range m.args {
		a = strings.ReplaceAll(a, initrd, kept)
		argv = append(argv, strings.ReplaceAll(a, m.dir, dir))
	}
	return "mkdir -p " + dir + " && " + ShellQuote(argv)
}

func copyFile(dst, src string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func (m *Machine) infra(what string, err error) error {
	return &Error{Outcome: Infrastructure, Msg: what, Err: err}
}

func newKey() (ssh.Signer, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, err
	}
	return signer, pem.EncodeToMemory(block), nil
}

// consoleLogs is how many console logs are kept in the cache directory.
const consoleLogs = 50

func consoleLogPath(spec Spec) (string, error) {
	if spec.ConsoleLog != "" {
		if err := os.MkdirAll(filepath.Dir(spec.ConsoleLog), 0o755); err != nil {
			return "", err
		}
		return spec.ConsoleLog, nil
	}
	dir := filepath.Join(spec.CacheDir, "consoles")
	if spec.CacheDir == "" {
		dir = filepath.Join(os.TempDir(), "patchtest-consoles")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(old) >= consoleLogs {
		// Names sort by time; drop the oldest.
		for _, f := range old[:len(old)-consoleLogs+1] {
			os.Remove(f)
			os.Remove(strings.TrimSuffix(f, ".log") + ".initramfs.cpio")
		}
	}
	name := fmt.Sprintf("%s-%d.log", time.Now().UTC().Format("20060102T150405.000000"), os.Getpid())
	return filepath.Join(dir, name), nil
}

// connectQMP connects to QEMU's monitor, waiting for QEMU to create the
// socket, and starts the goroutine that drains its events for the VM's
// whole life (go-qemu's event channel is unbuffered and shared: an
// undrained one wedges every command).
func (m *Machine) connectQMP(ctx context.Context, sock string) error {
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("QMP socket %s never appeared", sock)
		case <-m.dead:
			return errors.New("QEMU exited before its monitor came up")
		case <-time.After(5 * time.Millisecond):
		}
	}
	// The socket exists from QEMU's bind(); until its listen() a connect
	// is refused, so retry that briefly.
	var mon *qmp.SocketMonitor
	for {
		var err error
		mon, err = qmp.NewSocketMonitor("unix", sock, 5*time.Second)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("connect QMP: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect QMP: %w", err)
		case <-m.dead:
			return errors.New("QEMU exited before its monitor came up")
		case <-time.After(5 * time.Millisecond):
		}
	}
	var err error
	connected := make(chan error, 1)
	go func() { connected <- mon.Connect() }()
	select {
	case err = <-connected:
	case <-ctx.Done():
		mon.Disconnect()
		return fmt.Errorf("QMP handshake: %w", ctx.Err())
	}
	if err != nil {
		mon.Disconnect()
		return fmt.Errorf("QMP handshake: %w", err)
	}
	events, err := mon.Events(context.Background())
	if err != nil {
		mon.Disconnect()
		return fmt.Errorf("QMP events: %w", err)
	}
	m.mu.Lock()
	m.mon = mon
	m.mu.Unlock()
	go func() {
		for ev := range events {
			select {
			case m.qmpEvents <- ev:
			case <-m.done:
			}
		}
	}()
	return nil
}

// qmpRun runs one QMP command, bounded by ctx.
func (m *Machine) qmpRun(ctx context.Context, cmd any) (json.RawMessage, error) {
	m.mu.Lock()
	mon := m.mon
	m.mu.Unlock()
	if mon == nil {
		return nil, errors.New("no QMP connection")
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	type reply struct {
		b   []byte
		err error
	}
	ch := make(chan reply, 1)
	go func() {
		b, err := mon.Run(b)
		ch <- reply{b, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		var resp struct {
			Return json.RawMessage `json:"return"`
		}
		if err := json.Unmarshal(r.b, &resp); err != nil {
			return nil, err
		}
		return resp.Return, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type qmpCommand struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
}

// machineType asks QEMU which versioned machine type "pc" resolved to.
func (m *Machine) machineType(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r, err := m.qmpRun(ctx, qmpCommand{Execute: "qom-get", Arguments: map[string]string{"path": "/machine", "property": "type"}})
	if err != nil {
		return "pc"
	}
	var t string
	if json.Unmarshal(r, &t) != nil {
		return "pc"
	}
	return strings.TrimSuffix(t, "-machine")
}

// Status asks QEMU for the guest's run state (running, paused,
// guest-panicked…).
func (m *Machine) Status(ctx context.Context) (string, error) {
	r, err := m.qmpRun(ctx, qmpCommand{Execute: "query-status"})
	if err != nil {
		return "", fmt.Errorf("query-status: %w", err)
	}
	var s struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(r, &s); err != nil {
		return "", fmt.Errorf("query-status: %w", err)
	}
	return s.Status, nil
}

// handshake connects SSH over the agent's port and asks for its hello.
func (m *Machine) handshake(ctx context.Context, sock string, hostKey ssh.PublicKey, client ssh.Signer) (*ssh.Client, proto.Hello, error) {
	var (
		d    net.Dialer
		conn net.Conn
		err  error
	)
	for {
		conn, err = d.DialContext(ctx, "unix", sock)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, os.ErrNotExist) || ctx.Err() != nil {
			return nil, proto.Hello{}, fmt.Errorf("connect agent socket: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	cfg := &ssh.ClientConfig{
		User:              "root",
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(client)},
		HostKeyCallback:   ssh.FixedHostKey(hostKey),
		HostKeyAlgorithms: []string{hostKey.Type()},
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, "patchtest-guest", cfg)
	if err != nil {
		conn.Close()
		return nil, proto.Hello{}, fmt.Errorf("SSH handshake with agent: %w", err)
	}
	sc := ssh.NewClient(c, chans, reqs)
	ok, payload, err := sc.SendRequest(proto.RequestHello, true, nil)
	if err == nil && !ok {
		err = errors.New("agent refused hello")
	}
	var h proto.Hello
	if err == nil {
		h, err = proto.ParseHello(payload)
	}
	if err == nil && m.spec.AgentBuildID != "" && h.BuildID != m.spec.AgentBuildID {
		err = &Error{Outcome: Infrastructure, Msg: fmt.Sprintf("agent build %s answered, want %s: the initramfs is stale", h.BuildID, m.spec.AgentBuildID)}
	}
	if !stop() || err != nil {
		sc.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, proto.Hello{}, fmt.Errorf("agent hello: %w", err)
	}
	return sc, h, nil
}

// consoleSink receives QEMU's standard output: the serial console.
type consoleSink struct{ m *Machine }

func (s consoleSink) Write(p []byte) (int, error) {
	if s.m.log != nil {
		s.m.log.Write(p)
	}
	for _, l := range s.m.splitter.Write(p) {
		s.m.lines <- l
	}
	return len(p), nil
}

// stderrSink receives QEMU's standard error.
type stderrSink struct{ m *Machine }

func (s stderrSink) Write(p []byte) (int, error) {
	s.m.stderrTail.Write(p)
	for _, l := range strings.Split(string(p), "\n") {
		if kvmFailure(l) {
			select {
			case s.m.errLines <- l:
			default:
			}
		}
	}
	return len(p), nil
}

// tailBuffer keeps the last few KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 8 << 10

func (t *tailBuffer) Write(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailBytes:]...)
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

// wait waits for QEMU to exit; then all its output has been read.
func (m *Machine) wait() {
	err := m.cmd.Wait()
	if l, ok := m.splitter.Flush(); ok {
		m.lines <- l
	}
	m.mu.Lock()
	m.exitErr = err
	m.mu.Unlock()
	close(m.lines)
}

// monitor is the machine's one monitoring loop: console lines, QEMU's
// stderr and QMP events all arrive here, and it ends when QEMU has exited
// and its output is consumed.
func (m *Machine) monitor() {
	defer close(m.done)
	for {
		select {
		case l, ok := <-m.lines:
			if !ok {
				// QEMU's last words on stderr (KVM failing) come before
				// its exit.
				for len(m.errLines) > 0 {
					m.fail(&Error{Outcome: Infrastructure, Msg: "QEMU", Err: &kvmBroken{reason: strings.TrimSpace(<-m.errLines)}})
				}
				m.onExit()
				return
			}
			m.onLine(l)
		case l := <-m.errLines:
			m.fail(&Error{Outcome: Infrastructure, Msg: "QEMU", Err: &kvmBroken{reason: strings.TrimSpace(l)}})
		case ev := <-m.qmpEvents:
			m.emit(Event{Kind: EventQMP, Msg: ev.Event})
			if ev.Event == "GUEST_PANICKED" {
				m.fail(&Error{Outcome: KernelPanic, Msg: "the guest kernel panicked (pvpanic)"})
			}
		}
	}
}

func (m *Machine) onLine(line string) {
	line = strings.TrimRight(line, "\r")
	m.mu.Lock()
	if !m.gotFirst {
		m.gotFirst = true
		close(m.firstLine)
	}
	if len(m.tail) == tailLines {
		m.tail = append(m.tail[:0], m.tail[1:]...)
	}
	m.tail = append(m.tail, line)
	m.remember(line)
	r := m.detector.Line(line)
	m.mu.Unlock()
	if r != nil {
		m.emit(Event{Kind: EventReport, Msg: r.Title, Report: r})
		if r.Kind.Fatal() {
			m.fail(&Error{Outcome: KernelPanic, Msg: r.Title})
		}
	}
	if msg, ok := strings.CutPrefix(line, proto.ConsolePrefix+proto.FatalMarker); ok {
		m.fail(&Error{Outcome: BootFailed, Msg: "guest init: " + msg})
	}
}

func (m *Machine) onExit() {
	m.mu.Lock()
	err, ready, closing := m.exitErr, m.ready, m.closing
	m.mu.Unlock()
	m.emit(Event{Kind: EventExited, Msg: fmt.Sprintf("QEMU exited (%v)", exitText(err))})
	switch {
	case closing:
		m.fail(&Error{Outcome: LostConnection, Msg: "machine closed"})
	case err != nil:
		msg := fmt.Sprintf("QEMU exited (%s)", exitText(err))
		if t := m.stderrTail.String(); t != "" {
			msg += ": " + t
		}
		m.fail(&Error{Outcome: Infrastructure, Msg: msg})
	case ready:
		m.fail(&Error{Outcome: LostConnection, Msg: "the guest powered off or rebooted by itself"})
	default:
		m.fail(&Error{Outcome: BootFailed, Msg: "the guest powered off or rebooted before its agent answered"})
	}
	close(m.exited)
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// fail records the first fault and wakes everyone waiting on the machine.
func (m *Machine) fail(e *Error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fault != nil {
		return
	}
	m.fault = e
	close(m.dead)
}

func (m *Machine) emit(ev Event) {
	if m.spec.Events != nil {
		ev.Time = time.Now()
		m.spec.Events(ev)
	}
}

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
