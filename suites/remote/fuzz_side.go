package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/suites/fuzz"
	"github.com/patchtest/patchtest/vm"
)

// fuzzSide is one booted kernel with its guest's fuzz server running.
type fuzzSide struct {
	role   string
	m      *vm.Machine
	req    io.WriteCloser
	resp   *bufio.Reader
	stderr *strings.Builder
}

func (s *fuzzSide) start(ctx context.Context, o vm.BootOptions) error {
	m, err := vm.Boot(ctx, o)
	if err != nil {
		return err
	}
	s.m = m
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	s.req, s.resp, s.stderr = reqW, bufio.NewReaderSize(respR, 1<<20), &strings.Builder{}
	go func() {
		code, err := m.Run(ctx, proto.FuzzServe, reqR, respW, s.stderr)
		if err == nil && code != 0 {
			err = fmt.Errorf("fuzz server exited %d: %s", code, strings.TrimSpace(s.stderr.String()))
		}
		if err == nil {
			err = io.EOF
		}
		respW.CloseWithError(err)
	}()
	return nil
}

// exec runs p in the guest and returns its result, waiting at most
// programBound: a kernel that does not answer within it is hung.
func (s *fuzzSide) exec(ctx context.Context, p fuzz.Prog) (fuzz.Result, error) {
	b, _ := json.Marshal(p)
	type answer struct {
		res fuzz.Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		if _, err := s.req.Write(append(b, '\n')); err != nil {
			ch <- answer{err: err}
			return
		}
		line, err := s.resp.ReadBytes('\n')
		if err != nil {
			ch <- answer{err: err}
			return
		}
		var a answer
		if err := json.Unmarshal(line, &a.res); err != nil {
			a.err = fmt.Errorf("fuzz server answered %q: %w", line, err)
		}
		ch <- a
	}()
	timer := time.NewTimer(programBound)
	defer timer.Stop()
	select {
	case a := <-ch:
		if a.err != nil {
			if fault := s.m.Err(); fault != nil {
				return fuzz.Result{}, fault
			}
			return fuzz.Result{}, &vm.Error{Outcome: vm.Infrastructure, Msg: "fuzz server", Err: a.err}
		}
		if a.res.Error != "" {
			return fuzz.Result{}, &vm.Error{Outcome: vm.Infrastructure, Msg: "fuzz worker: " + a.res.Error}
		}
		return a.res, nil
	case <-timer.C:
		return fuzz.Result{}, &vm.Error{Outcome: vm.NoOutput, Msg: fmt.Sprintf("no trace within %v: the kernel hung under the program", programBound)}
	case <-ctx.Done():
		return fuzz.Result{}, &vm.Error{Outcome: vm.Interrupted, Msg: "fuzzing interrupted", Err: context.Cause(ctx)}
	}
}

func (s *fuzzSide) close() {
	if s.m == nil {
		return
	}
	s.req.Close()
	s.m.Close()
	s.m = nil
}
