package suites

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Bounded runs call on an OS thread of its own and reports whether it
// blocked. The kernel decides, not the clock: the call blocked when its
// thread is seen asleep inside a system call (its state S or D in
// /proc/self/task/TID/stat, a system call in .../syscall) with no context
// switch in between, at settlePolls polls pollEvery apart. The poller
// runs in the same guest, so a host that stalls the guest stalls the
// count too, and a call still waiting for a CPU is never taken for one
// that sleeps. Where the thread's state cannot be read, d of elapsed time
// decides, as it did before; maxWait bounds a call that neither returns
// nor sleeps. A blocked call is left to be woken when the case closes its
// descriptors.
func (t *T) Bounded(d time.Duration, call func() (int, error)) (n int, err error, blocked bool) {
	c := startCall(call)
	r, blocked := c.wait(d)
	return r.n, r.err, blocked
}

// Woken observes whether a call that blocks in the kernel is woken by
// what the case does next (then, say a vmsplice into the pipe the call
// reads): "woken, returned N", "not woken" (the call went back to sleep,
// or never stirred, as Bounded tells it), or "returned N" when the call
// did not block in the first place.
func (t *T) Woken(call func() (int, error), then func() error) Observation {
	c := startCall(call)
	r, blocked := c.wait(BlockBound)
	if !blocked {
		return Observation{Type: TBlocking, Value: "returned " + resultValue(r.n, r.err)}
	}
	Must(then())
	if r, blocked = c.wait(BlockBound); blocked {
		return Observation{Type: TBlocking, Value: "not woken"}
	}
	return Observation{Type: TBlocking, Value: "woken, returned " + resultValue(r.n, r.err)}
}

// callResult is what a watched call returned.
type callResult struct {
	n   int
	err error
}

// watchedCall is a call running on an OS thread of its own.
type watchedCall struct {
	tid  int
	done chan callResult
}

func startCall(call func() (int, error)) *watchedCall {
	c := &watchedCall{done: make(chan callResult, 1)}
	tids := make(chan int, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		tids <- unix.Gettid()
		n, err := call()
		c.done <- callResult{n, err}
	}()
	c.tid = <-tids
	return c
}

// wait is Bounded's judgement of the call from now on: its result, or
// blocked.
func (c *watchedCall) wait(d time.Duration) (callResult, bool) {
	start := time.Now()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	settled, switches := 0, int64(-1)
	for {
		select {
		case r := <-c.done:
			return r, false
		case <-tick.C:
		}
		st, ok := readTaskState(c.tid)
		switch {
		case !ok:
			if time.Since(start) >= d {
				return callResult{}, true
			}
			continue
		case st.asleepInSyscall() && st.switches == switches:
			settled++
		case st.asleepInSyscall():
			settled, switches = 1, st.switches
		default:
			settled, switches = 0, -1
		}
		if settled >= settlePolls || time.Since(start) >= maxWait {
			return callResult{}, true
		}
	}
}

// How Bounded tells a blocked call: settlePolls polls pollEvery apart of
// the thread asleep in its system call without a context switch (50 ms
// of the guest's own time), at most maxWait in all.
const (
	pollEvery   = 2 * time.Millisecond
	settlePolls = 25
	maxWait     = 5 * time.Second
)

// taskState is what the kernel says of one thread.
type taskState struct {
	state    byte  // R, S, D…
	syscall  int64 // the system call it is in; -1 when none
	switches int64 // voluntary plus involuntary context switches
}

// asleepInSyscall reports whether the thread sleeps inside a system call
// other than futex (where the Go runtime parks its threads).
func (s taskState) asleepInSyscall() bool {
	return (s.state == 'S' || s.state == 'D') && s.syscall >= 0 && s.syscall != unix.SYS_FUTEX
}

// readTaskState reads thread tid's state from /proc/self/task/TID: stat,
// syscall and status.
func readTaskState(tid int) (taskState, bool) {
	dir := "/proc/self/task/" + strconv.Itoa(tid)
	var st taskState
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return st, false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return st, false
	}
	st.state = stat[i+2]
	sc, err := os.ReadFile(dir + "/syscall")
	if err != nil {
		return st, false
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(sc)), " ")
	switch first {
	case "running":
		st.syscall = -1
	default:
		n, err := strconv.ParseInt(first, 10, 64)
		if err != nil {
			return st, false
		}
		st.syscall = n
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return st, false
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			st.switches += n
		}
	}
	return st, true
}

// BlockBound is how long a call may take before it counts as blocked on
// a kernel whose threads' state cannot be read.
const BlockBound = 300 * time.Millisecond

// BoundedResult runs a call that may block, as Blocking does, and
// returns "blocked" or its result, for a case that observes several
// calls in one sequence (Seq).
func (t *T) BoundedResult(call func() (int, error)) string {
	n, err, blocked := t.Bounded(BlockBound, call)
	if blocked {
		return "blocked"
	}
	return resultValue(n, err)
}

// Blocking observes a call that may block: "blocked", or "returned" and
// its result.
func (t *T) Blocking(call func() (int, error)) Observation {
	n, err, blocked := t.Bounded(BlockBound, call)
	if blocked {
		return Observation{Type: TBlocking, Value: "blocked"}
	}
	return Observation{Type: TBlocking, Value: "returned " + resultValue(n, err)}
}
