package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/patchtest/patchtest/guest/proto"
)

func signer(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pair runs a Server on one end of a pipe and returns an SSH client on the
// other, authenticated with clientKey.
func pair(t *testing.T, clientKey ssh.Signer, poweroff func()) (*ssh.Client, error) {
	t.Helper()
	host, authorized := signer(t), signer(t)
	if clientKey == nil {
		clientKey = authorized
	}
	srv, err := NewServer(Config{
		HostKey:       host,
		AuthorizedKey: authorized.PublicKey(),
		Hello: func() proto.Hello {
			return proto.Hello{Version: proto.Version, BuildID: "test-build", Release: "6.12.0-test"}
		},
		PowerOff: poweroff,
		Env:      []string{"PATH=" + os.Getenv("PATH"), "AGENT_TEST=1"},
		Logf:     t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A socket, not net.Pipe: both SSH ends write their version first, and
	// a synchronous pipe deadlocks on that.
	l, err := net.Listen("unix", t.TempDir()+"/agent.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.ServeConn(ctx, a)
	}()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	c, chans, reqs, err := ssh.NewClientConn(b, "agent", &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(clientKey)},
		HostKeyCallback: ssh.FixedHostKey(host.PublicKey()),
		Timeout:         5 * time.Second,
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	client := ssh.NewClient(c, chans, reqs)
	t.Cleanup(func() { client.Close() })
	return client, nil
}

func TestHello(t *testing.T) {
	c, err := pair(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok, payload, err := c.SendRequest(proto.RequestHello, true, nil)
	if err != nil || !ok {
		t.Fatalf("hello: ok %v, err %v", ok, err)
	}
	h, err := proto.ParseHello(payload)
	if err != nil || h.BuildID != "test-build" || h.Release != "6.12.0-test" {
		t.Errorf("hello = %+v, %v", h, err)
	}
	if ok, _, _ := c.SendRequest("nonsense@patchtest", true, nil); ok {
		t.Error("unknown global request accepted")
	}
}

func TestRefusesOtherClientKey(t *testing.T) {
	if _, err := pair(t, signer(t), nil); err == nil {
		t.Fatal("a client with a key the agent was not given got in")
	}
}

func TestPowerOff(t *testing.T) {
	called := make(chan struct{}, 1)
	c, err := pair(t, nil, func() { called <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := c.SendRequest(proto.RequestPowerOff, true, nil); !ok || err != nil {
		t.Fatalf("poweroff: %v %v", ok, err)
	}
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("poweroff request did not power off")
	}
}

func TestExec(t *testing.T) {
	c, err := pair(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cmd, stdin string
		code             int
		stdout, stderr   string
	}{
		{"stdout", "echo hello", "", 0, "hello\n", ""},
		{"stderr and status", "echo oops >&2; exit 3", "", 3, "", "oops\n"},
		{"stdin", "tr a-z A-Z", "shout\n", 0, "SHOUT\n", ""},
		{"environment", "echo $AGENT_TEST", "", 0, "1\n", ""},
		{"quoted argv", proto.QuoteArgs([]string{"printf", "%s|", "a b", "c'd"}), "", 0, "a b|c'd|", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var stdout, stderr bytes.Buffer
			s.Stdin, s.Stdout, s.Stderr = strings.NewReader(tc.stdin), &stdout, &stderr
			err = s.Run(tc.cmd)
			code := 0
			var exit *ssh.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitStatus()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("code %d stdout %q stderr %q; want %d %q %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

func TestSignal(t *testing.T) {
	c, err := pair(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start("sleep 30"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := s.Signal(ssh.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		var exit *ssh.ExitError
		if !errors.As(err, &exit) || exit.Signal() != "KILL" {
			t.Errorf("wait = %v; want killed by KILL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("signalled command did not end")
	}
}
