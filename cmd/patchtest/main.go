// Command patchtest shows what a kernel patch changes: it boots stock and
// patched kernels under QEMU and runs splice, sendfile, vmsplice and tee
// suites in them. This file only wires packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/guest/entry"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm"
)

// exitError carries a process exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// Unwrap gives report the error underneath, whose detail (a vm.Error's
// kernel reports, console and reproducer) the user must see.
func (e *exitError) Unwrap() error { return e.err }

func main() {
	if entry.InGuest() {
		entry.Main() // patchtest is its own guest; never returns
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	os.Exit(report(os.Stderr, err))
}

// report prints err for a user and returns the exit code it maps to: an
// exitError's code when there is one, else the code of the error's kind.
func report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	coded := errors.As(err, &ee)
	if coded && ee.err == nil {
		return ee.code
	}
	var ve *vm.Error
	if errors.As(err, &ve) {
		fault := "host/harness fault"
		if ve.Outcome.KernelFault() {
			fault = "kernel fault"
		}
		code := ve.Outcome.ExitCode()
		if coded {
			code = ee.code
		}
		fmt.Fprintf(w, "patchtest: %v [%s, exit %d]\n", err, fault, code)
		if d := ve.Detail(); d != "" {
			fmt.Fprint(w, d)
		}
		return code
	}
	fmt.Fprintf(w, "patchtest: %v\n", err)
	if coded {
		return ee.code
	}
	return kernelExitCode(err)
}

// Exit codes of kernel builds.
const (
	exitBadKernelInput = 65 // the source, series or config cannot be used
	exitBuildFailed    = 72 // make failed
	exitOther          = 2
)

func kernelExitCode(err error) int {
	var (
		pe *kernels.PatchError
		ce *kernels.ConfigError
		be *kernels.BuildError
		ie *kernels.InputError
	)
	switch {
	case errors.As(err, &be):
		return exitBuildFailed
	case errors.As(err, &pe), errors.As(err, &ce), errors.As(err, &ie):
		return exitBadKernelInput
	}
	return exitOther
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "patchtest",
		Short:         "Show what a kernel patch changes for splice, sendfile, vmsplice and tee",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: vm.BadInput.ExitCode(), err: fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.AddCommand(newRun(), newPerf(), newFuzz(), newBisect(), newCheck(), newNightly(), newResults(), newServe(), newDiff(), newBoot(), newShell(), newKernel(), newSuites(), newDoctor(), newCoverage(), newMutate(), newVersion())
	return root
}
