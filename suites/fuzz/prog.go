// Package fuzz is patchtest's differential fuzzer of the splice family:
// small programs over pipes, files, memfds, sockets and mapped buffers,
// generated from a seed (Generator), run in the guest one process each
// (Serve, Worker) into a trace of normalized outcomes (Trace), compared
// between two kernels, minimized (Minimize) and written as standalone C
// reproducers (CSource) that print the same trace.
//
// A program names its descriptors and buffers by slot (r0…r7, b0…b3),
// never by number or address, and its data by checksum, so that two runs
// of one program on one kernel print the same trace.
package fuzz

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/patchtest/patchtest/suites/runs"
)

// Slots a program has: descriptors r0…r(FdSlots-1) and buffers
// b0…b(BufSlots-1). A slot never created holds -1 (a closed descriptor,
// an unmapped buffer).
const (
	FdSlots  = 8
	BufSlots = 4
)

// NoOff stands for a NULL offset pointer in an offset argument, BadOff
// for a pointer to an unmapped page (the kernel's EFAULT paths).
const (
	NoOff  = -1 << 62
	BadOff = NoOff + 1
)

// Call is one step of a program: an operation and its arguments, whose
// meaning the operation's Spec gives.
type Call struct {
	Op   string  `json:"op"`
	Args []int64 `json:"args"`
}

// Prog is a program: calls run in order in a fresh process.
type Prog struct {
	Calls []Call `json:"calls"`
}

// Record is the program as a run's record keeps it.
func (p Prog) Record() runs.FuzzProgram {
	q := runs.FuzzProgram{Calls: make([]runs.FuzzCall, len(p.Calls))}
	for i, c := range p.Calls {
		q.Calls[i] = runs.FuzzCall{Op: c.Op, Args: append([]int64(nil), c.Args...)}
	}
	return q
}

// ProgOf is the program a run's record keeps.
func ProgOf(r runs.FuzzProgram) Prog {
	p := Prog{Calls: make([]Call, len(r.Calls))}
	for i, c := range r.Calls {
		p.Calls[i] = Call{Op: c.Op, Args: append([]int64(nil), c.Args...)}
	}
	return p
}

// Clone returns a deep copy of p.
func (p Prog) Clone() Prog {
	q := Prog{Calls: make([]Call, len(p.Calls))}
	for i, c := range p.Calls {
		q.Calls[i] = Call{Op: c.Op, Args: append([]int64(nil), c.Args...)}
	}
	return q
}

// Shape is the program's operations in order ("pipe2-mmap-vmsplice-read").
func (p Prog) Shape() string {
	ops := make([]string, len(p.Calls))
	for i, c := range p.Calls {
		ops[i] = c.Op
	}
	return strings.Join(ops, "-")
}

// Hash is a short stable digest of the program.
func (p Prog) Hash() string {
	b, _ := json.Marshal(p)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:4])
}

// Check reports whether every call names a known operation with the
// arguments it takes, each within its slot ranges.
func (p Prog) Check() error {
	for i, c := range p.Calls {
		s, ok := specs[c.Op]
		if !ok {
			return fmt.Errorf("call %d: no operation %q", i, c.Op)
		}
		if len(c.Args) != len(s.Args) {
			return fmt.Errorf("call %d: %s takes %d arguments, has %d", i, c.Op, len(s.Args), len(c.Args))
		}
		for j, a := range s.Args {
			v := c.Args[j]
			switch {
			case (a.Kind == Fd || a.Kind == NewFd) && (v < 0 || v >= FdSlots):
				return fmt.Errorf("call %d: %s: descriptor slot %d", i, c.Op, v)
			case a.Kind == Buf && (v < 0 || v >= BufSlots):
				return fmt.Errorf("call %d: %s: buffer slot %d", i, c.Op, v)
			}
		}
	}
	return nil
}

// String renders the call as its trace does: "splice(r0, NULL, r3, &0,
// 4096, NONBLOCK)".
func (c Call) String() string {
	s := specs[c.Op]
	parts := make([]string, len(c.Args))
	for i, v := range c.Args {
		k := Value
		var names []flagName
		if i < len(s.Args) {
			k, names = s.Args[i].Kind, s.Args[i].Flags
		}
		parts[i] = render(k, names, v)
	}
	return c.Op + "(" + strings.Join(parts, ", ") + ")"
}

func render(k Kind, names []flagName, v int64) string {
	switch k {
	case Fd, NewFd:
		return fmt.Sprintf("r%d", v)
	case Buf:
		return fmt.Sprintf("b%d", v)
	case Off:
		switch v {
		case NoOff:
			return "NULL"
		case BadOff:
			return "BAD"
		}
		return fmt.Sprintf("&%d", v)
	case Flags:
		if v == 0 {
			return "0"
		}
		var out []string
		rest := uint64(v)
		for _, n := range names {
			if rest&n.bit != 0 {
				out = append(out, n.name)
				rest &^= n.bit
			}
		}
		if rest != 0 {
			out = append(out, fmt.Sprintf("%#x", rest))
		}
		return strings.Join(out, "|")
	case Value:
		switch {
		case v == Held:
			return "held"
		case isHeld(v):
			return fmt.Sprintf("held%+d", v-Held)
		}
	}
	return fmt.Sprint(v)
}

// Kind is what an argument is.
type Kind int

// Argument kinds.
const (
	Value Kind = iota // a number
	Fd                // a descriptor slot the call uses
	NewFd             // a descriptor slot the call fills
	Buf               // a buffer slot
	Off               // an offset pointer: NoOff (NULL), BadOff, or the offset it points to
	Flags             // a flags word
)

type flagName struct {
	name string
	bit  uint64
}

// Arg describes one argument: its kind, the values the generator draws
// from, and, for flags, the bits' names.
type Arg struct {
	Name   string
	Kind   Kind
	Values []int64
	Flags  []flagName
	// Want is the kind of descriptor the generator prefers (pipe, file…).
	Want string
}

// Spec is an operation's arguments.
type Spec struct {
	Args []Arg
	// Makes is the kind of the descriptors a creating call fills.
	Makes string
	// Weight is how often the generator draws it among the non-creating
	// operations.
	Weight int
}
