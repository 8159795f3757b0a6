package vm

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/patchtest/patchtest/guest/proto"
)

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
