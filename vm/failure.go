package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

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
