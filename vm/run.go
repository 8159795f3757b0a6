package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/patchtest/patchtest/guest/proto"
)

// Run runs argv in the guest with the given standard streams (nil ones
// are empty or discarded) and returns its exit status. A command killed by
// a signal returns 128+signal, as a shell reports it. The error is non-nil
// only when the command's fate is unknown: ctx ended, the kernel panicked,
// or the connection to the agent broke.
func (m *Machine) Run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return 0, &Error{Outcome: BadInput, Msg: "no command given"}
	}
	return m.session(ctx, func(s *ssh.Session) error {
		s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
		return s.Start(proto.QuoteArgs(argv))
	})
}

// Shell runs an interactive shell in the guest on the terminal in, out.
// A terminal is put in raw mode for the shell's life and given a pty in
// the guest of the same size.
func (m *Machine) Shell(ctx context.Context, in *os.File, out io.Writer) (int, error) {
	fd := int(in.Fd())
	tty := term.IsTerminal(fd)
	w, h := 80, 24
	if tty {
		if cw, ch, err := term.GetSize(fd); err == nil {
			w, h = cw, ch
		}
		old, err := term.MakeRaw(fd)
		if err != nil {
			return 0, &Error{Outcome: Infrastructure, Msg: "raw terminal", Err: err}
		}
		defer term.Restore(fd, old)
	}
	return m.session(ctx, func(s *ssh.Session) error {
		s.Stdin, s.Stdout, s.Stderr = in, out, out
		if tty {
			t := os.Getenv("TERM")
			if t == "" {
				t = "vt100"
			}
			if err := s.RequestPty(t, h, w, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
				return fmt.Errorf("request pty: %w", err)
			}
		}
		return s.Shell()
	})
}

// session opens a session, lets start start it, and waits for its end,
// its context, or the machine's death, whichever is first.
func (m *Machine) session(ctx context.Context, start func(*ssh.Session) error) (int, error) {
	if err := m.Err(); err != nil {
		return 0, m.decorate(asError(err))
	}
	// Opening the session and starting the command each wait for the
	// agent's answer, which a wedged guest never gives: bound them by
	// ctx and the machine's death like the command itself.
	type opened struct {
		s   *ssh.Session
		err error
	}
	op := make(chan opened, 1)
	go func() {
		s, err := m.client.NewSession()
		if err == nil {
			if err = start(s); err != nil {
				s.Close()
			}
		}
		op <- opened{s, err}
	}()
	var s *ssh.Session
	select {
	case o := <-op:
		if o.err != nil {
			return 0, m.lost(o.err)
		}
		s = o.s
	case <-ctx.Done():
		go func() {
			if o := <-op; o.s != nil {
				o.s.Close()
			}
		}()
		return 0, &Error{Outcome: Interrupted, Msg: "command not started", Err: context.Cause(ctx)}
	case <-m.dead:
		return 0, m.lost(nil)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = s.Signal(ssh.SIGKILL)
		return 0, &Error{Outcome: Interrupted, Msg: "command interrupted", Err: context.Cause(ctx)}
	case <-m.dead:
		return 0, m.lost(nil)
	}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if exit.Signal() != "" {
			return 128 + signalNumber(exit.Signal()), nil
		}
		return exit.ExitStatus(), nil
	default:
		return 0, m.lost(err)
	}
}

// lost explains a broken session: by the machine's fault when it has one
// (a panic, QEMU's exit), as a lost connection otherwise.
func (m *Machine) lost(err error) error {
	// A panic arrives on the console a little after the connection drops.
	select {
	case <-m.dead:
	default:
		select {
		case <-m.dead:
		case <-time.After(2 * time.Second):
		}
	}
	if f := m.Err(); f != nil {
		fe := asError(f)
		if fe.Outcome == KernelPanic {
			m.waitExit(3 * time.Second)
		}
		if fe.Outcome != LostConnection || err == nil {
			return m.decorate(fe)
		}
	}
	return m.decorate(&Error{Outcome: LostConnection, Msg: "session with the agent broke", Err: err})
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Outcome: Infrastructure, Err: err}
}

var signals = map[ssh.Signal]int{
	ssh.SIGABRT: 6, ssh.SIGALRM: 14, ssh.SIGFPE: 8, ssh.SIGHUP: 1, ssh.SIGILL: 4,
	ssh.SIGINT: 2, ssh.SIGKILL: 9, ssh.SIGPIPE: 13, ssh.SIGQUIT: 3, ssh.SIGSEGV: 11,
	ssh.SIGTERM: 15, ssh.SIGUSR1: 10, ssh.SIGUSR2: 12,
}

func signalNumber(s string) int {
	if n, ok := signals[ssh.Signal(s)]; ok {
		return n
	}
	return 0
}

// Pin restricts every thread of the machine's QEMU (its vCPUs, its main
// loop and I/O threads) to the host CPUs given; threads QEMU starts later
// inherit it from their creators. Call it once the machine is ready, when
// the vCPU threads exist.
func (m *Machine) Pin(cpus ...int) error {
	if m.cmd == nil || m.cmd.Process == nil {
		return &Error{Outcome: Infrastructure, Msg: "pin: no QEMU process"}
	}
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	dir := fmt.Sprintf("/proc/%d/task", m.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return &Error{Outcome: Infrastructure, Msg: "pin QEMU threads", Err: err}
	}
	for _, t := range tasks {
		var tid int
		if _, err := fmt.Sscan(t.Name(), &tid); err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return &Error{Outcome: Infrastructure, Msg: fmt.Sprintf("pin QEMU thread %d to CPUs %v", tid, cpus), Err: err}
		}
	}
	return nil
}
