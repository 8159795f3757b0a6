package fuzz

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/suites/runs"
)

// errnos are the errors a trace names; any other prints as E<number>.
// The C reproducers carry the same table.
var errnos = []unix.Errno{
	unix.EPERM, unix.ENOENT, unix.EINTR, unix.EIO, unix.ENXIO, unix.EBADF, unix.EAGAIN,
	unix.ENOMEM, unix.EACCES, unix.EFAULT, unix.EBUSY, unix.EEXIST, unix.EXDEV, unix.ENODEV,
	unix.EISDIR, unix.EINVAL, unix.ENFILE, unix.EMFILE, unix.ENOTTY, unix.ETXTBSY, unix.EFBIG,
	unix.ENOSPC, unix.ESPIPE, unix.EROFS, unix.EPIPE, unix.ERANGE, unix.ENOSYS, unix.EOVERFLOW,
	unix.ENOTSOCK, unix.EDESTADDRREQ, unix.EMSGSIZE, unix.ENOTSUP, unix.EADDRINUSE,
	unix.ENOTCONN, unix.ECONNRESET, unix.ECONNREFUSED, unix.ENOBUFS, unix.EISCONN,
	unix.ETIMEDOUT, unix.ESHUTDOWN,
}

// ErrnoName is the name a trace gives errno e (EOPNOTSUPP is ENOTSUP,
// the same number on Linux).
func ErrnoName(e unix.Errno) string {
	for _, x := range errnos {
		if x == e {
			return unix.ErrnoName(x)
		}
	}
	return fmt.Sprintf("E%d", int(e))
}

// Trace is what a program printed: one line per call, "I CALL = OUTCOME",
// and, when it did not finish, the call it was in marked "blocked" or the
// way its process ended ("killed: …"). It is the run model's (see
// package runs).
type Trace = runs.FuzzTrace

// Step is one line of a trace split into its call and its outcome.
func Step(line string) (call, outcome string) {
	_, rest, _ := strings.Cut(line, " ")
	call, outcome, _ = strings.Cut(rest, " = ")
	return call, outcome
}

// FirstDiff is the index of the first line where a and b differ, -1
// when they are the same.
func FirstDiff(a, b Trace) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

// Op is the operation of a trace line ("splice" of "3 splice(r0, …) = 4096").
func Op(line string) string {
	call, _ := Step(line)
	op, _, _ := strings.Cut(call, "(")
	return op
}

// Class is an outcome's kind, for telling differences apart before they
// are minimized: the errno, "blocked", "data" when only a checksum
// differs, else "value".
func Class(outcome string) string {
	f := strings.Fields(outcome)
	switch {
	case len(f) == 0:
		return "none"
	case f[0] == "-1" && len(f) > 1:
		return f[1]
	case f[0] == "blocked" || strings.HasPrefix(f[0], "killed"):
		return f[0]
	}
	return "value"
}
