package suites

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// CleanupTimeout bounds closing a case's descriptors: a kernel that holds
// a pipe's lock in an uninterruptible sleep makes close() block too.
const CleanupTimeout = 2 * time.Second

// ErrWedged ends a run whose last case left the runner unable to go on.
var ErrWedged = errors.New("a case's descriptors could not be closed: the kernel holds them; a fresh guest must run the rest")

// AckTimeout bounds the wait for the host's acknowledgement of a start
// record.
const AckTimeout = 5 * time.Second

// Run runs cases in this process (the guest) and writes the result
// stream to w: a hello, then a start and a case record per case, then the
// final end record. With acks set, each start record waits for a line
// from acks before its case runs: the host has then seen it, so a case
// that brings the kernel down is charged correctly even though output
// still in flight is lost with the kernel.
func Run(w io.Writer, cases []*Case, acks io.Reader) error {
	enc := json.NewEncoder(w)
	var ack chan struct{}
	if acks != nil {
		ack = make(chan struct{})
		go func() {
			sc := bufio.NewScanner(acks)
			for sc.Scan() {
				ack <- struct{}{}
			}
			close(ack)
		}()
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
	}
	if err := enc.Encode(StreamRecord{Kind: RecordHello, Version: StreamVersion, Cases: ids}); err != nil {
		return err
	}
	kmsg := openKmsg()
	defer kmsg.close()
	for _, c := range cases {
		if err := enc.Encode(StreamRecord{Kind: RecordStart, ID: c.ID}); err != nil {
			return err
		}
		if ack != nil {
			select {
			case _, ok := <-ack:
				if !ok {
					ack = nil // the host stopped acknowledging; go on without
				}
			case <-time.After(AckTimeout):
			}
		}
		rec := runCase(c)
		rec.Kmsg = kmsg.read()
		if err := enc.Encode(rec); err != nil {
			return err
		}
		if rec.Wedged {
			// The kernel holds this case's resources; the cases after
			// it would block on them too. The host reboots for them.
			return ErrWedged
		}
	}
	return enc.Encode(StreamRecord{Kind: RecordEnd, Count: len(cases)})
}

// runCase runs one case within its timeout. A case that outlives it is
// recorded as hung and left behind; its descriptors are closed, which
// wakes a helper blocked on a pipe or socket.
func runCase(c *Case) StreamRecord {
	rec := StreamRecord{Kind: RecordCase, ID: c.ID}
	t, err := newT()
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	type outcome struct {
		obs Observation
		err string
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				if f, ok := p.(fatal); ok {
					done <- outcome{err: "setup: " + f.err.Error()}
					return
				}
				done <- outcome{err: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
			}
		}()
		done <- outcome{obs: c.Run(t)}
	}()
	select {
	case o := <-done:
		rec.Duration = time.Since(start)
		if o.err != "" {
			rec.Error = o.err
		} else {
			rec.Obs = &o.obs
		}
	case <-time.After(timeout):
		rec.Duration = time.Since(start)
		rec.Error = fmt.Sprintf("%s: no result within %v", HungPrefix, timeout)
	}
	ended := make(chan struct{})
	go func() { t.end(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(CleanupTimeout):
		// The observation, if any, stands; the wedge is reported apart.
		rec.Wedged = true
	}
	t.mu.Lock()
	rec.Invariant = t.failures
	rec.Subs = t.subs
	if t.dropped > 0 {
		o := Outcome("truncated", fmt.Sprintf("%d more subtests than the %d kept", t.dropped, MaxSubs))
		rec.Subs = append(rec.Subs, SubResult{Name: "more-subtests-not-kept", Obs: &o})
	}
	rec.Metrics = t.metrics
	if t.hung != "" && !strings.HasPrefix(rec.Error, HungPrefix) {
		rec.Obs, rec.Error = nil, HungPrefix+": "+t.hung
	}
	t.mu.Unlock()
	return rec
}

// kmsgReader reads the kernel log records that appear while cases run.
type kmsgReader struct{ fd int }

func openKmsg() *kmsgReader {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &kmsgReader{fd: -1}
	}
	unix.Seek(fd, 0, unix.SEEK_END) // only what comes from now on
	return &kmsgReader{fd: fd}
}

// read returns the new records of priority warning or worse, as
// "<level> message".
func (k *kmsgReader) read() []string {
	if k.fd < 0 {
		return nil
	}
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(k.fd, buf)
		if err == unix.EPIPE {
			continue // records were overwritten; go on with the next
		}
		if err != nil || n <= 0 {
			return out
		}
		// "prio,seq,usec,flags;message\n continuation lines"
		hdr, msg, ok := strings.Cut(string(buf[:n]), ";")
		if !ok {
			continue
		}
		f := strings.SplitN(hdr, ",", 2)
		prio, err := strconv.Atoi(f[0])
		if err != nil || prio&7 > 4 {
			continue
		}
		msg, _, _ = strings.Cut(msg, "\n")
		out = append(out, fmt.Sprintf("<%d> %s", prio&7, msg))
	}
}

func (k *kmsgReader) close() {
	if k.fd >= 0 {
		unix.Close(k.fd)
	}
}
