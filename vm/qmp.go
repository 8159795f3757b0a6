package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

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
