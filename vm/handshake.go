package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/patchtest/patchtest/guest/proto"
)

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
