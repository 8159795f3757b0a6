package suites

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/suites/runs"
)

// Type is the type of an Observation's value.
type Type = runs.ObsType

// Observation types.
const (
	// TResult is a syscall's outcome: a byte count ("4096") or an errno
	// name ("EAGAIN").
	TResult Type = "result"
	// TAliasing says whether memory given to the kernel is still shared
	// with what the kernel handed on: "aliased", "copied" or "partial".
	TAliasing Type = "aliasing"
	// TBlocking says whether a call blocked past its bound: "blocked", or
	// "returned " and its result.
	TBlocking Type = "blocking"
	// TBool is yes or no.
	TBool Type = "bool"
	// TIntegrity is "intact" or a short description of the corruption.
	TIntegrity Type = "integrity"
	// TSeq is a short sequence of other values, joined by " → ".
	TSeq Type = "seq"
	// TOutcome is a peer test's own verdict: "ok", "not ok" (with its
	// exit status for a program), "xfail".
	TOutcome Type = "outcome"
	// TSkip means the case could not run here (a missing feature); the
	// value says why.
	TSkip Type = "skip"
)

// Observation is what a case saw (the run model's; see package runs).
type Observation = runs.Observation

// ErrnoName returns the errno's symbolic name (EAGAIN), or "ok" for nil.
func ErrnoName(err error) string {
	if err == nil {
		return "ok"
	}
	var e unix.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
		return fmt.Sprintf("errno%d", int(e))
	}
	return "error"
}

// Result observes a syscall that returns a count or fails.
func Result(n int, err error) Observation {
	return Observation{Type: TResult, Value: resultValue(n, err)}
}

func resultValue(n int, err error) string {
	if err != nil {
		return ErrnoName(err)
	}
	return fmt.Sprint(n)
}

// Aliased observes whether the reader saw changes made after the call:
// all of them (aliased), none (copied) or some (partial).
func Aliased(changed, total int) Observation {
	v := "partial"
	switch changed {
	case 0:
		v = "copied"
	case total:
		v = "aliased"
	}
	return Observation{Type: TAliasing, Value: v}
}

// Bool observes yes or no.
func Bool(b bool) Observation {
	if b {
		return Observation{Type: TBool, Value: "yes"}
	}
	return Observation{Type: TBool, Value: "no"}
}

// Intact observes data integrity: "intact", or where the first difference is.
func Intact(got, want []byte) Observation {
	if len(got) != len(want) {
		return Observation{Type: TIntegrity, Value: fmt.Sprintf("length %d, want %d", len(got), len(want))}
	}
	for i := range got {
		if got[i] != want[i] {
			return Observation{Type: TIntegrity, Value: fmt.Sprintf("differs at byte %d", i)}
		}
	}
	return Observation{Type: TIntegrity, Value: "intact"}
}

// Seq observes several values in order.
func Seq(values ...string) Observation {
	return Observation{Type: TSeq, Value: strings.Join(values, " → ")}
}

// Outcome observes a peer test's verdict, with a note that qualifies it
// (a failing subtest's last diagnostic) and is not compared.
func Outcome(v, note string) Observation { return Observation{Type: TOutcome, Value: v, Note: note} }

// Skip is the observation of a case that cannot run here.
func Skip(reason string) Observation { return Observation{Type: TSkip, Value: reason} }
