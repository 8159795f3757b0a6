package vm

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"golang.org/x/crypto/ssh"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/vm/console"
	"github.com/patchtest/patchtest/vm/initramfs"
)

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
	devices := []Device{
		Board{CPUs: spec.CPUs, MemoryMiB: spec.MemoryMiB},
		accel,
	}
	m.info.Clock = string(RealTime)
	if accel == TCG && spec.Clock == Instructions {
		devices = append(devices, InstructionCounter{})
		m.info.Clock = string(Instructions) + " " + InstructionCounter{}.QEMUArgs()[1]
	}
	devices = append(devices,
		Console{},
		PVPanic{},
		QMP{Socket: qmpSock},
		AgentPort{Socket: agentSock},
		KernelBoot{Kernel: spec.Kernel, Initrd: initrd, Extra: spec.KernelArgs},
	)
	args := Cmdline(devices...)
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
