package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/guest/proto"
)

// Shell is the shell that runs exec requests when the guest has one (Debian's
// busybox-static, packed by the host).
const Shell = "/bin/sh"

// session serves one "session" channel the way an OpenSSH server does.
func (s *Server) session(ctx context.Context, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var (
		env     = append([]string(nil), s.env...)
		tty     *pty
		mu      sync.Mutex
		running *exec.Cmd
	)
	defer func() {
		if tty != nil {
			tty.Close()
		}
	}()
	for {
		var r *ssh.Request
		select {
		case r = <-reqs:
		case <-ctx.Done():
			return
		}
		if r == nil {
			return
		}
		ok := true
		switch r.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(r.Payload, &kv) == nil {
				env = append(env, kv.Name+"="+kv.Value)
			}
		case "pty-req":
			var p struct {
				Term          string
				Cols, Rows    uint32
				Width, Height uint32
				Modes         string
			}
			if err := ssh.Unmarshal(r.Payload, &p); err != nil || tty != nil {
				ok = false
				break
			}
			t, err := openPTY()
			if err != nil {
				s.logf("agent: pty: %v", err)
				ok = false
				break
			}
			tty = t
			tty.Resize(p.Cols, p.Rows)
			env = append(env, "TERM="+p.Term)
		case "window-change":
			var w struct{ Cols, Rows, Width, Height uint32 }
			if tty == nil || ssh.Unmarshal(r.Payload, &w) != nil {
				ok = false
				break
			}
			tty.Resize(w.Cols, w.Rows)
		case "signal":
			var sig struct{ Name string }
			mu.Lock()
			cmd := running
			mu.Unlock()
			if cmd == nil || ssh.Unmarshal(r.Payload, &sig) != nil {
				ok = false
				break
			}
			if n := unix.SignalNum("SIG" + sig.Name); n != 0 {
				_ = cmd.Process.Signal(n)
			}
		case "exec", "shell":
			mu.Lock()
			busy := running != nil
			mu.Unlock()
			if busy {
				ok = false
				break
			}
			var argv []string
			var err error
			if r.Type == "exec" {
				var c struct{ Command string }
				if err = ssh.Unmarshal(r.Payload, &c); err == nil {
					argv, err = commandArgv(c.Command)
				}
			} else {
				argv, err = shellArgv()
			}
			if err != nil {
				fmt.Fprintf(ch.Stderr(), "patchtest-agent: %v\n", err)
				ok = false
				break
			}
			cmd, err := s.start(argv, env, ch, tty)
			if err != nil {
				fmt.Fprintf(ch.Stderr(), "patchtest-agent: %v\n", err)
				if r.WantReply {
					_ = r.Reply(true, nil)
				}
				sendExit(ch, 127, "")
				return
			}
			mu.Lock()
			running = cmd
			mu.Unlock()
			go func() {
				code, sig := s.wait(cmd, ch, tty)
				sendExit(ch, code, sig)
				ch.Close()
			}()
		default:
			ok = false
		}
		if r.WantReply {
			_ = r.Reply(ok, nil)
		}
	}
}

// commandArgv turns an exec request's command into argv: through the guest's
// shell when it has one, else split into words by proto.SplitArgs.
func commandArgv(command string) ([]string, error) {
	if _, err := os.Stat(Shell); err == nil {
		return []string{Shell, "-c", command}, nil
	}
	argv, err := proto.SplitArgs(command)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	return argv, nil
}

func shellArgv() ([]string, error) {
	if _, err := os.Stat(Shell); err != nil {
		return nil, errors.New("the guest has no shell: install busybox-static on the host (apt-get install busybox-static)")
	}
	return []string{Shell, "-l"}, nil
}

// start starts argv with its streams on ch, or on tty when there is one.
func (s *Server) start(argv []string, env []string, ch ssh.Channel, tty *pty) (*exec.Cmd, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%s: command not found", argv[0])
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = env
	cmd.Dir = "/"
	if tty != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty.tty, tty.tty, tty.tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		tty.tty.Close() // the child has it now
		tty.tty = nil
		go func() { _, _ = io.Copy(tty.ptmx, ch) }()
		return cmd, nil
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	cmd.WaitDelay = 2 * time.Second // a daemon holding stdout must not hold the session
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	return cmd, nil
}

// wait waits for cmd and returns its exit code, or the signal that ended it.
func (s *Server) wait(cmd *exec.Cmd, ch ssh.Channel, tty *pty) (int, string) {
	var copied chan struct{}
	if tty != nil {
		copied = make(chan struct{})
		go func() {
			_, _ = io.Copy(ch, tty.ptmx) // ends with EIO once the child's side is gone
			close(copied)
		}()
	}
	err := cmd.Wait()
	if copied != nil {
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
		}
	}
	if cmd.ProcessState == nil {
		s.logf("agent: wait: %v", err)
		return 255, ""
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG")
	}
	return ws.ExitStatus(), ""
}

func sendExit(ch ssh.Channel, code int, signal string) {
	if signal != "" {
		_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Message    string
			Lang       string
		}{Signal: signal}))
		return
	}
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
}

// pty is a pseudo-terminal pair.
type pty struct {
	ptmx, tty *os.File
}

func openPTY() (*pty, error) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx (is CONFIG_UNIX98_PTYS set?): %w", err)
	}
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		return nil, fmt.Errorf("pty number: %w", err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		return nil, err
	}
	return &pty{ptmx: ptmx, tty: tty}, nil
}

// Resize sets the terminal's size.
func (p *pty) Resize(cols, rows uint32) {
	_ = unix.IoctlSetWinsize(int(p.ptmx.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
}

// Close closes both ends that are still open.
func (p *pty) Close() {
	p.ptmx.Close()
	if p.tty != nil {
		p.tty.Close()
	}
}
