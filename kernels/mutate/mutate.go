// Package mutate makes mutants of a kernel source file with a few
// classic operators, each a one-line change written as a patch that
// patchtest's kernel builder applies: the faults a catalogue must kill.
package mutate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Operators, by name.
const (
	// ErrnoSwap returns another errno (-EINVAL for -EFAULT, ...).
	ErrnoSwap = "errno-swap"
	// Negate negates an if's condition.
	Negate = "negate"
	// DropReturn drops an error return, so the code goes on.
	DropReturn = "drop-return"
	// OffByOne turns a strict comparison into a loose one (< into <=).
	OffByOne = "off-by-one"
	// DropFlagCheck makes a flag test never true.
	DropFlagCheck = "drop-flag-check"
	// DropWriteback drops a store of a position or through a pointer
	// (*off_out = offset; in->f_pos = offset; *ppos += ret).
	DropWriteback = "drop-writeback"
)

// Operators are all operators, in order.
var Operators = []string{ErrnoSwap, Negate, DropReturn, OffByOne, DropFlagCheck, DropWriteback}

// Mutant is one changed line of a file.
type Mutant struct {
	ID       string `json:"id"` // operator:file:line
	Operator string `json:"operator"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Func     string `json:"func,omitempty"`
	Old      string `json:"old"`
	New      string `json:"new"`
}

// Patch is the mutant as a patch on the source tree (-p1), with a
// subject naming it.
func (m Mutant) Patch() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: patchtest mutate <mutate@patchtest>\nSubject: [PATCH] mutant %s\n\n%s:%d (%s): %s\n---\n", m.ID, m.File, m.Line, m.Operator, m.Func)
	fmt.Fprintf(&b, "--- a/%s\n+++ b/%s\n@@ -%d,1 +%d,1 @@\n-%s\n+%s\n", m.File, m.File, m.Line, m.Line, m.Old, m.New)
	return []byte(b.String())
}

var (
	errnoRe  = regexp.MustCompile(`-E[A-Z][A-Z0-9]+\b`)
	ifRe     = regexp.MustCompile(`^(\s*(?:\}\s*else\s+)?if\s*)\((.*)\)(\s*\{?\s*)$`)
	retErrRe = regexp.MustCompile(`^(\s*)return -E[A-Z][A-Z0-9]+;\s*$`)
	strictRe = regexp.MustCompile(`[^<>=!-]([<>])[^<>=]`)
	flagRe   = regexp.MustCompile(`\bflags\b|SPLICE_F_|RWF_|O_NONBLOCK|FMODE_`)
	storeRe  = regexp.MustCompile(`^(\s*)(\*\w+|[\w>.-]*(?:->|\.)\w*pos\w*)\s*(?:=|\+=|-=)\s*[^=][^;]*;\s*$`)
)

// swaps is the errno each one becomes.
var swaps = map[string]string{"EINVAL": "EBADF", "EBADF": "EINVAL", "EFAULT": "EINVAL", "ESPIPE": "EINVAL", "EAGAIN": "EINVAL", "EXDEV": "EINVAL", "ENOMEM": "EINVAL", "EPERM": "EINVAL", "EOVERFLOW": "EINVAL", "EISDIR": "EINVAL"}

// Generate returns the mutants of text (the file at path file, as the
// patch names it) with the operators ops (all when none), on the lines
// of lines only (line number to the function holding it), in line order.
func Generate(file, text string, lines map[int]string, ops []string) []Mutant {
	if len(ops) == 0 {
		ops = Operators
	}
	use := map[string]bool{}
	for _, o := range ops {
		use[o] = true
	}
	src := strings.Split(text, "\n")
	var nums []int
	for n := range lines {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var out []Mutant
	add := func(op string, n int, new string) {
		old := src[n-1]
		if new == old {
			return
		}
		out = append(out, Mutant{ID: fmt.Sprintf("%s:%s:%d", op, file, n), Operator: op, File: file, Line: n, Func: lines[n], Old: old, New: new})
	}
	for _, n := range nums {
		if n < 1 || n > len(src) {
			continue
		}
		l := src[n-1]
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "/*") || (t == "*" || strings.HasPrefix(t, "* ") || strings.HasPrefix(t, "*/")) || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "#") {
			continue
		}
		if use[ErrnoSwap] {
			if m := errnoRe.FindString(l); m != "" {
				to, ok := swaps[m[1:]]
				if !ok {
					to = "EINVAL"
				}
				add(ErrnoSwap, n, strings.Replace(l, m, "-"+to, 1))
			}
		}
		if use[DropReturn] {
			if m := retErrRe.FindStringSubmatch(l); m != nil {
				add(DropReturn, n, m[1]+"; /* patchtest mutate: "+t+" dropped */")
			}
		}
		if use[DropWriteback] {
			if m := storeRe.FindStringSubmatch(l); m != nil {
				add(DropWriteback, n, m[1]+"; /* patchtest mutate: "+t+" dropped */")
			}
		}
		m := ifRe.FindStringSubmatch(l)
		if m == nil || !balanced(m[2]) {
			continue
		}
		if use[Negate] {
			add(Negate, n, m[1]+"(!("+m[2]+"))"+m[3])
		}
		if use[OffByOne] {
			if loc := strictRe.FindStringSubmatchIndex(m[2]); loc != nil {
				cond := m[2][:loc[3]] + "=" + m[2][loc[3]:]
				add(OffByOne, n, m[1]+"("+cond+")"+m[3])
			}
		}
		if use[DropFlagCheck] && flagRe.MatchString(m[2]) {
			add(DropFlagCheck, n, m[1]+"(0 && ("+m[2]+"))"+m[3])
		}
	}
	return out
}

// balanced reports whether s's parentheses pair up: the if's condition
// is on its one line.
func balanced(s string) bool {
	d := 0
	for _, r := range s {
		switch r {
		case '(':
			d++
		case ')':
			d--
			if d < 0 {
				return false
			}
		}
	}
	return d == 0
}
