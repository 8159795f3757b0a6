// Package agent is the guest's SSH server. It speaks SSH over one byte
// stream (the virtio-serial port), accepts only the client key that the host
// packed into the initramfs, and serves:
//
//   - the hello request, the readiness handshake (proto.Hello);
//   - the poweroff request;
//   - "session" channels with exec, shell, pty-req, window-change, env and
//     signal requests, as an OpenSSH server would.
//
// Further channel types (the suites' result streams) are added with Handle.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/guest/proto"
)

// Server is the agent's SSH server.
type Server struct {
	config   *ssh.ServerConfig
	hello    func() proto.Hello
	powerOff func()
	env      []string
	logf     func(format string, a ...any)
	onHost   func()
}

// Config is what a Server needs.
type Config struct {
	HostKey       ssh.Signer         // the guest's host key
	AuthorizedKey ssh.PublicKey      // the one client key accepted
	Hello         func() proto.Hello // answers the readiness handshake
	PowerOff      func()             // powers the guest off; nil refuses the request
	Env           []string           // environment of the commands it runs
	OnHostConnect func()             // called when the host side of the port connects
	Logf          func(format string, a ...any)
}

// NewServer returns a Server for cfg.
func NewServer(cfg Config) (*Server, error) {
	if cfg.HostKey == nil || cfg.AuthorizedKey == nil || cfg.Hello == nil {
		return nil, errors.New("agent: host key, authorized key and hello are required")
	}
	want := cfg.AuthorizedKey.Marshal()
	sc := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) != string(want) {
				return nil, errors.New("unknown client key")
			}
			return nil, nil
		},
		ServerVersion: "SSH-2.0-patchtest-agent",
	}
	sc.AddHostKey(cfg.HostKey)
	logf := cfg.Logf
	if logf == nil {
		logf = log.Printf
	}
	return &Server{
		config:   sc,
		hello:    cfg.Hello,
		powerOff: cfg.PowerOff,
		env:      cfg.Env,
		logf:     logf,
		onHost:   cfg.OnHostConnect,
	}, nil
}

// ServeConn serves one SSH connection over conn until it ends or ctx is done.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	sconn, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return fmt.Errorf("ssh handshake: %w", err)
	}
	defer sconn.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.globalRequests(reqs)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "unknown channel type "+nc.ChannelType())
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ctx, ch, creqs)
		}()
	}
	return nil
}

func (s *Server) globalRequests(reqs <-chan *ssh.Request) {
	for r := range reqs {
		switch r.Type {
		case proto.RequestHello:
			_ = r.Reply(true, s.hello().Marshal())
		case proto.RequestPowerOff:
			if s.powerOff == nil {
				_ = r.Reply(false, nil)
				continue
			}
			_ = r.Reply(true, nil)
			go s.powerOff()
		default:
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}
}

// PortConn adapts the virtio-serial port to a net.Conn for one SSH
// connection. virtio_console answers a read with end-of-file while the host
// side is not connected, so Wait must be called before each connection.
type PortConn struct {
	*os.File
}

// OpenPort opens the virtio-serial port at path.
func OpenPort(path string) (*PortConn, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open agent port: %w", err)
	}
	return &PortConn{f}, nil
}

// WaitHost blocks until the host side of the port is connected or ctx is done.
func (p *PortConn) WaitHost(ctx context.Context) error {
	rc, err := p.SyscallConn()
	if err != nil {
		return err
	}
	for {
		var hup bool
		err := rc.Control(func(fd uintptr) {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLOUT}}
			if _, perr := unix.Poll(pfd, 0); perr == nil {
				hup = pfd[0].Revents&unix.POLLHUP != 0
			}
		})
		if err != nil {
			return err
		}
		if !hup {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// LocalAddr implements net.Conn.
func (p *PortConn) LocalAddr() net.Addr { return portAddr(p.Name()) }

// RemoteAddr implements net.Conn.
func (p *PortConn) RemoteAddr() net.Addr { return portAddr("host") }

type portAddr string

func (a portAddr) Network() string { return "virtio-serial" }
func (a portAddr) String() string  { return string(a) }

// Serve serves SSH connections over the port, one after another, until ctx
// is done. A connection that ends (the host went away) is followed by a wait
// for the next one.
func (s *Server) Serve(ctx context.Context, port *PortConn) error {
	for {
		if err := port.WaitHost(ctx); err != nil {
			return err
		}
		if s.onHost != nil {
			s.onHost()
		}
		if err := port.SetReadDeadline(time.Time{}); err != nil {
			return fmt.Errorf("agent port: %w", err)
		}
		// The port must outlive each SSH connection, so hand ServeConn a
		// view whose Close does not close the device.
		err := s.ServeConn(ctx, noCloseConn{port})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			s.logf("agent: %v", err)
		}
	}
}

type noCloseConn struct{ *PortConn }

// Close ends the SSH connection's use of the port: a read deadline in the
// past wakes its reader, and the device stays open for the next connection.
func (c noCloseConn) Close() error { return c.SetReadDeadline(time.Unix(1, 0)) }
