package suites

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// killGrace bounds the wait for a killed program to go.
const killGrace = 3 * time.Second

// program is one run of a peer program.
type program struct {
	dir   string
	argv  []string
	bound time.Duration
	// line receives each line of its output (stdout and stderr merged).
	line func(string)
}

// ran is how a program ended.
type ran struct {
	code int
	// killed is set when it outlived its bound and was killed.
	killed bool
	tail   []string
}

// run runs p in its own process group; past its bound the group is
// killed. A program the kernel will not let die (blocked in an
// uninterruptible sleep) keeps run waiting, and the case's own bound
// then calls it hung.
func (p program) run() (ran, error) {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "PATH=/bin:/sbin:/usr/bin:/usr/sbin")
	// A pipe of our own, so that Wait returns when the program exits even
	// if a child it left behind still holds its output.
	pr, pw, err := os.Pipe()
	if err != nil {
		return ran{}, err
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return ran{}, err
	}
	var (
		mu   sync.Mutex
		tail []string
	)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			tail = append(tail, l)
			if len(tail) > 40 {
				tail = tail[1:]
			}
			mu.Unlock()
			if p.line != nil {
				p.line(l)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var r ran
	select {
	case err = <-done:
	case <-time.After(p.bound):
		r.killed = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	// What the program left running in its group goes with it, so that
	// the cases after it find the guest as it was.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-read:
	case <-time.After(killGrace):
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
		err = nil
	}
	mu.Lock()
	r.tail = append(r.tail, tail...)
	mu.Unlock()
	return r, err
}

// exitOutcome is a whole program's outcome by its exit status, as the
// kselftest runner reads it: 0 ok, 4 skip, 2 xfail, else not ok.
func exitOutcome(code int, tail []string) Observation {
	switch code {
	case 0:
		return Outcome("ok", "")
	case 4:
		return Skip("the test skipped itself: " + lastLine(tail))
	case 2:
		return Outcome("xfail", lastLine(tail))
	}
	return Outcome(fmt.Sprintf("not ok (exit %d)", code), lastLine(tail))
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// tapRun runs a kselftest program that writes KTAP and records its
// subtests as they come; a program killed at its bound hangs the case,
// naming the subtest it was in.
func tapRun(t *T, p program, seen map[string]int) Observation {
	tp := NewTAPParser()
	var mu sync.Mutex
	p.line = func(l string) {
		mu.Lock()
		defer mu.Unlock()
		if r, ok := tp.Line(l); ok {
			o := r.Obs
			t.Sub(SubResult{Name: SubName(r.Name, seen), Obs: &o})
		}
	}
	r, err := p.run()
	if err != nil {
		panic(fatal{fmt.Errorf("run %s: %w", p.argv[0], err)})
	}
	mu.Lock()
	defer mu.Unlock()
	if r.killed {
		where := "between subtests"
		if tp.Running != "" {
			where = "in subtest " + tp.Running
			t.Sub(SubResult{Name: SubName(tp.Running, seen), NotRun: "the test program hung here and was killed after " + p.bound.String()})
		}
		t.Hang(fmt.Sprintf("%s did not finish within %v: killed %s, after %d result(s)", filepath.Base(p.argv[0]), p.bound, where, len(tp.Results)))
		return Observation{}
	}
	if tp.Plan >= 0 && len(tp.Results) < tp.Plan && r.code == 0 {
		return Outcome(fmt.Sprintf("not ok (%d of %d planned results)", len(tp.Results), tp.Plan), lastLine(r.tail))
	}
	return exitOutcome(r.code, r.tail)
}
