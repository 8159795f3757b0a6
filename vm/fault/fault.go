// Package fault is patchtest's error taxonomy: every failure is the
// kernel's (a finding: it panicked, reported, hung, lost its agent, did
// not boot) or the harness's (the host, the input, an interrupt), and
// where a run has two kernels, which one's. Errors carry their class as a
// type (Error, Sided), so that nothing is decided by matching text.
package fault

import (
	"errors"
	"fmt"
	"strings"

	"github.com/patchtest/patchtest/vm/console"
)

// Outcome classifies why a guest did not do what was asked. Outcomes split
// into the kernel's fault and the harness's or host's fault, so that a user
// (and CI) know which one they are looking at.
type Outcome int

// Outcomes. The kernel's faults come first.
const (
	// BootFailed: the guest never became ready, and no panic explains it
	// (it powered off, rebooted, or init reported that the agent cannot run).
	BootFailed Outcome = iota + 1
	// KernelPanic: the kernel panicked.
	KernelPanic
	// KernelReport: the kernel printed a non-fatal report (oops, BUG, WARNING…).
	KernelReport
	// NoOutput: the guest made no progress within the time allowed.
	NoOutput
	// LostConnection: the agent's connection broke after it was ready.
	LostConnection
	// CommandFailed: the command ran and exited non-zero.
	CommandFailed

	// BadInput: an input file is missing or is not what it must be.
	BadInput
	// MissingFile: an input file does not exist.
	MissingFile
	// QEMUMissing: the QEMU binary cannot be found.
	QEMUMissing
	// Interrupted: patchtest was told to stop (a signal, a deadline) and
	// stopped the guest.
	Interrupted
	// Infrastructure: any other fault of the host or the harness
	// (QEMU refused its arguments, KVM broken, disk full…).
	Infrastructure
)

var outcomeInfo = map[Outcome]struct {
	name   string
	code   int
	kernel bool
}{
	BootFailed:     {"boot failed", 80, true},
	KernelPanic:    {"kernel panic", 81, true},
	KernelReport:   {"kernel report", 82, true},
	NoOutput:       {"no progress within timeout", 83, true},
	LostConnection: {"lost connection to agent", 84, true},
	CommandFailed:  {"command failed", 1, false},
	BadInput:       {"bad input", 65, false},
	MissingFile:    {"missing file", 66, false},
	QEMUMissing:    {"qemu missing", 69, false},
	Interrupted:    {"interrupted", 130, false},
	Infrastructure: {"infrastructure error", 70, false},
}

func (o Outcome) String() string {
	if i, ok := outcomeInfo[o]; ok {
		return i.name
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// ExitCode is the process exit code patchtest uses for o. CommandFailed's is
// a placeholder: the command's own code is passed through instead.
func (o Outcome) ExitCode() int { return outcomeInfo[o].code }

// KernelFault reports whether o is the kernel's fault rather than the host's.
func (o Outcome) KernelFault() bool { return outcomeInfo[o].kernel }

// Outcomes lists every outcome, for documentation.
func Outcomes() []Outcome {
	return []Outcome{BootFailed, KernelPanic, KernelReport, NoOutput, LostConnection, CommandFailed, BadInput, MissingFile, QEMUMissing, Interrupted, Infrastructure}
}

// Error is a failure with its Outcome. It carries what a user needs to act
// on it: the message, the kernel reports seen, the tail of the console, and
// the QEMU command line to reproduce the boot by hand.
type Error struct {
	Outcome Outcome
	Msg     string
	Err     error
	// Reports are the kernel reports seen on the console.
	Reports []console.Report
	// ConsoleTail holds the console's last lines when they help.
	ConsoleTail []string
	// ConsoleLog is the file that holds the whole console.
	ConsoleLog string
	// Cmdline is the QEMU command line, quoted for a shell.
	Cmdline string
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	return e.Outcome.String() + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Detail is the multi-line explanation that follows Error's one line: the
// reports, the console tail and how to reproduce.
func (e *Error) Detail() string {
	var b strings.Builder
	for _, r := range e.Reports {
		fmt.Fprintf(&b, "kernel report (%s) at console line %d:\n", r.Kind, r.Line)
		for _, l := range r.Lines {
			fmt.Fprintf(&b, "  | %s\n", l)
		}
	}
	if len(e.Reports) == 0 && len(e.ConsoleTail) > 0 {
		b.WriteString("last console lines:\n")
		for _, l := range e.ConsoleTail {
			fmt.Fprintf(&b, "  | %s\n", l)
		}
	}
	if e.ConsoleLog != "" {
		fmt.Fprintf(&b, "console log: %s\n", e.ConsoleLog)
	}
	if e.Cmdline != "" {
		fmt.Fprintf(&b, "reproduce with:\n  %s\n", e.Cmdline)
	}
	return b.String()
}

// OutcomeOf returns the outcome of err: its own when it is an *Error,
// Infrastructure otherwise.
func OutcomeOf(err error) Outcome {
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return Infrastructure
}

// Sided is a failure of one kernel of a run: the baseline's or the
// candidate's (see package runs' roles).
type Sided struct {
	Side string
	Err  error
}

func (e *Sided) Error() string { return e.Side + " kernel: " + e.Err.Error() }

func (e *Sided) Unwrap() error { return e.Err }

// OnSide marks err as side's; nil stays nil.
func OnSide(side string, err error) error {
	if err == nil {
		return nil
	}
	return &Sided{Side: side, Err: err}
}

// FaultSide is the side the failure belongs to.
func (e *Sided) FaultSide() string { return e.Side }

// SideOf returns the side err belongs to: the outermost error in its
// tree with a FaultSide method (a Sided, a perf run's side error), ""
// when there is none.
func SideOf(err error) string {
	var s interface{ FaultSide() string }
	if errors.As(err, &s) {
		return s.FaultSide()
	}
	return ""
}
