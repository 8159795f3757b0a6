package fuzz

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Result is a program's trace as Serve answers it.
type Result struct {
	Trace Trace `json:"trace"`
	// Error is set when the worker could not run the program at all
	// (the guest's fault, not the kernel's answer to a call).
	Error string `json:"error,omitempty"`
	// Cover is the program's KCOV signal in the splice family (blocks
	// and edges, sorted), when the kernel has KCOV and the program ran
	// to its end; CoverFuncs is how many functions the family has in
	// this kernel, NoCover why there is no signal.
	Cover      []uint32 `json:"cover,omitempty"`
	CoverFuncs int      `json:"cover_funcs,omitempty"`
	NoCover    string   `json:"no_cover,omitempty"`
}

// Worker is the guest's `fuzz worker`: it reads one program from r and
// runs it in the working directory, which receives its files, writing
// its trace to w. A program that outlives Bound ends the process, so
// the directory is the caller's to make and to remove (Serve does).
func Worker(r io.Reader, w io.Writer) error {
	var p Prog
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return fmt.Errorf("fuzz worker: program: %w", err)
	}
	if err := p.Check(); err != nil {
		return fmt.Errorf("fuzz worker: %w", err)
	}
	k, out := workerKcov()
	execute(p, w, Bound, k, out)
	return nil
}

// workerSlack is how long past Bound Serve waits for a worker before it
// kills it: a process that cannot even be told its time is up.
const workerSlack = 10 * time.Second

// Serve is the guest's `fuzz serve`: for each program (a JSON line) on r
// it runs a worker process (self, as `fuzz worker`) and writes the
// program's Result as a JSON line on w.
func Serve(ctx context.Context, self string, r io.Reader, w io.Writer) error {
	dir, err := os.MkdirTemp("", "fzserve")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cov := setUpCoverage(dir)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	enc := json.NewEncoder(w)
	for sc.Scan() {
		if err := enc.Encode(runOne(ctx, self, sc.Bytes(), cov, dir)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func runOne(ctx context.Context, self string, prog []byte, cov coverage, dir string) Result {
	ctx, cancel := context.WithTimeout(ctx, Bound+workerSlack)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "fuzz", "worker")
	cmd.Stdin = bytes.NewReader(prog)
	// No asynchronous preemption: its signals would only add EINTRs
	// the C reproducer never sees.
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	coverOut := dir + "/cover"
	os.Remove(coverOut)
	if cov.ranges != "" {
		cmd.Env = append(cmd.Env, envKcovRanges+"="+cov.ranges, envCoverOut+"="+coverOut)
	}
	// Each program's files in a directory of its own, removed however
	// the worker ended: a blocked program's exit runs no deferred call,
	// and what it left would follow every later program.
	work := dir + "/work"
	os.RemoveAll(work)
	if err := os.Mkdir(work, 0o700); err != nil {
		return Result{Error: fmt.Sprintf("worker directory: %v", err)}
	}
	defer os.RemoveAll(work)
	cmd.Dir = work
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	res := Result{CoverFuncs: cov.funcs, NoCover: cov.why}
	if cov.ranges != "" {
		res.Cover = readCover(coverOut)
	}
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l != "" {
			res.Trace = append(res.Trace, l)
		}
	}
	if err == nil {
		return res
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ctx.Err() == nil {
			// The kernel killed the program (SIGSEGV, SIGBUS, the OOM
			// killer): that is the program's outcome.
			res.Trace = append(res.Trace, fmt.Sprintf("%d killed: %v", len(res.Trace), ws.Signal()))
			return res
		}
	}
	if ctx.Err() != nil {
		res.Trace = append(res.Trace, fmt.Sprintf("%d killed: no exit within %v", len(res.Trace), Bound+workerSlack))
		return res
	}
	res.Error = fmt.Sprintf("worker: %v: %s", err, strings.TrimSpace(stderr.String()))
	return res
}
