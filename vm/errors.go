package vm

import (
	"fmt"

	"github.com/patchtest/patchtest/vm/fault"
)

// Outcome and Error are the taxonomy's (package fault), named here for
// the package that boots guests and produces most of them.
type (
	// Outcome classifies why a guest did not do what was asked.
	Outcome = fault.Outcome
	// Error is a failure with its Outcome.
	Error = fault.Error
)

// Outcomes (see package fault).
const (
	BootFailed     = fault.BootFailed
	KernelPanic    = fault.KernelPanic
	KernelReport   = fault.KernelReport
	NoOutput       = fault.NoOutput
	LostConnection = fault.LostConnection
	CommandFailed  = fault.CommandFailed
	BadInput       = fault.BadInput
	MissingFile    = fault.MissingFile
	QEMUMissing    = fault.QEMUMissing
	Interrupted    = fault.Interrupted
	Infrastructure = fault.Infrastructure
)

// OutcomeOf returns the outcome of err: its own when it is an *Error,
// Infrastructure otherwise.
func OutcomeOf(err error) Outcome { return fault.OutcomeOf(err) }

// Outcomes lists every outcome, for documentation.
func Outcomes() []Outcome { return fault.Outcomes() }

func errorf(o Outcome, format string, a ...any) *Error {
	return &Error{Outcome: o, Msg: fmt.Sprintf(format, a...)}
}
