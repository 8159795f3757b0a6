package coverage

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Counts are found and hit figures.
type Counts struct {
	Found int `json:"found"`
	Hit   int `json:"hit"`
}

// Pct is hit in percent of found; 0 when nothing was found.
func (c Counts) Pct() float64 {
	if c.Found == 0 {
		return 0
	}
	return 100 * float64(c.Hit) / float64(c.Found)
}

func (c Counts) String() string { return fmt.Sprintf("%5.1f%% (%d/%d)", c.Pct(), c.Hit, c.Found) }

// FileSummary is one file's coverage, and its functions'.
type FileSummary struct {
	Path      string            `json:"path"`
	Lines     Counts            `json:"lines"`
	Branches  Counts            `json:"branches"`
	Functions Counts            `json:"functions"`
	Funcs     []FunctionSummary `json:"funcs"`
}

// FunctionSummary is one function's line coverage (the lines from its
// first to the next function's) and how often it was entered.
type FunctionSummary struct {
	Name  string `json:"name"`
	Line  int    `json:"line"`
	Calls int64  `json:"calls"`
	Lines Counts `json:"lines"`
}

// Summarize returns the figures of the files of t whose paths end in one
// of files, in files' order.
func Summarize(t Trace, files []string) []FileSummary {
	var out []FileSummary
	for _, name := range files {
		f := t.Find(name)
		if f == nil {
			continue
		}
		s := FileSummary{Path: name}
		for _, c := range f.Lines {
			s.Lines.Found++
			if c > 0 {
				s.Lines.Hit++
			}
		}
		for _, c := range f.Branches {
			s.Branches.Found++
			if c > 0 {
				s.Branches.Hit++
			}
		}
		type fn struct {
			name string
			line int
		}
		var fns []fn
		for n, l := range f.Funcs {
			fns = append(fns, fn{n, l})
		}
		sort.Slice(fns, func(i, j int) bool { return fns[i].line < fns[j].line })
		for i, x := range fns {
			end := int(^uint(0) >> 1)
			if i+1 < len(fns) {
				end = fns[i+1].line
			}
			fs := FunctionSummary{Name: x.name, Line: x.line, Calls: f.FuncHits[x.name]}
			for l, c := range f.Lines {
				if l >= x.line && l < end {
					fs.Lines.Found++
					if c > 0 {
						fs.Lines.Hit++
					}
				}
			}
			s.Functions.Found++
			if fs.Calls > 0 {
				s.Functions.Hit++
			}
			s.Funcs = append(s.Funcs, fs)
		}
		out = append(out, s)
	}
	return out
}

// Entry is a syscall's entry point: the functions of one file whose
// error returns and flag checks a user reaches with its arguments.
type Entry struct {
	Syscall string
	File    string
	// Funcs are the functions' definitions, as their first line starts
	// (SYSCALL_DEFINE6(splice,) or names them (__do_splice().
	Funcs []string
}

// EntryPoints are the splice family's syscall entry points in the kernel
// source (6.12's layout).
var EntryPoints = []Entry{
	{"splice", "fs/splice.c", []string{"SYSCALL_DEFINE6(splice,", "__do_splice(", "do_splice("}},
	{"vmsplice", "fs/splice.c", []string{"SYSCALL_DEFINE4(vmsplice,", "vmsplice_type(", "vmsplice_to_pipe(", "vmsplice_to_user("}},
	{"tee", "fs/splice.c", []string{"SYSCALL_DEFINE4(tee,", "do_tee("}},
	{"sendfile", "fs/read_write.c", []string{"SYSCALL_DEFINE4(sendfile,", "SYSCALL_DEFINE4(sendfile64,", "do_sendfile("}},
	{"copy_file_range", "fs/read_write.c", []string{"SYSCALL_DEFINE6(copy_file_range,", "vfs_copy_file_range(", "generic_copy_file_checks("}},
}

// Unreach says why no case can reach some checks of an entry point
// from user space on x86-64 with the guest kernel.
type Unreach struct {
	// Func is the function holding the checks.
	Func string
	// Guard, when set, picks the checks: those whose line, or one of
	// the two lines above it (the if guarding a return), holds it. An
	// empty Guard is the whole function.
	Guard  string
	Reason string
}

// Unreachable are the checks no case can reach, with the reason: they
// are reported as such, not as gaps in the catalogue.
var Unreachable = []Unreach{
	{Func: "sys_sendfile", Reason: "x86-64's sendfile(2) is sys_sendfile64 (arch/x86/entry/syscalls/syscall_64.tbl: 40 common sendfile sys_sendfile64); the off_t entry serves 32-bit ABIs, which the guest does not run"},
	{Func: "vfs_copy_file_range", Guard: "flags & ~COPY_FILE_SPLICE", Reason: "copy_file_range(2) refuses every flag itself (flags != 0: EINVAL) before it calls vfs_copy_file_range; COPY_FILE_SPLICE is for in-kernel callers (nfsd, ksmbd)"},
	{Func: "generic_copy_file_checks", Guard: "f_op->copy_file_range !=", Reason: "needs two file systems with a ->copy_file_range of their own (nfs, cifs, fuse, ...); the guest's tmpfs and procfs have none, so a cross-fs copy is refused by the i_sb test below instead"},
	{Func: "generic_copy_file_checks", Guard: "IS_SWAPFILE", Reason: "needs an active swap file; the guest kernel has no swap (CONFIG_SWAP needs CONFIG_BLOCK, which the guest's tinyconfig leaves out)"},
}

// unreachable is the reason no case can reach line i of lines (of
// function fn), or "".
func unreachable(fn string, lines []string, i int) string {
	for _, u := range Unreachable {
		if u.Func != fn {
			continue
		}
		if u.Guard == "" {
			return u.Reason
		}
		for j := i; j >= 0 && j >= i-2; j-- {
			if strings.Contains(lines[j], u.Guard) {
				return u.Reason
			}
		}
	}
	return ""
}

// Check is one error return or flag check of an entry point.
type Check struct {
	Syscall  string   `json:"syscall"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Func     string   `json:"func"`
	Kind     string   `json:"kind"` // "error" or "flag check"
	Text     string   `json:"text"`
	Executed bool     `json:"executed"` // the line has a count (gcov saw code there)
	Cases    []string `json:"cases,omitempty"`
	// Unreachable says why no case can reach it, when none can.
	Unreachable string `json:"unreachable,omitempty"`
}

// Gap reports whether the check is one the catalogue should reach and
// does not: counted code, reachable from user space, reached by no case.
func (c Check) Gap() bool { return len(c.Cases) == 0 && c.Executed && c.Unreachable == "" }

var (
	errnoRe = regexp.MustCompile(`-E[A-Z][A-Z0-9]+\b`)
	flagRe  = regexp.MustCompile(`\bif\s*\(.*(\bflags\b|SPLICE_F_|RWF_|O_NONBLOCK|FMODE_)`)
)

// Checks lists the error returns and flag checks of every entry point
// in the sources (read by source, a file's path as in Entry) and, from
// each case's tracefile, the cases that executed its line (countAt).
// Lines inside #if 0 are left out.
func Checks(source func(file string) (string, error), perCase map[string]Trace) ([]Check, error) {
	var out []Check
	cases := make([]string, 0, len(perCase))
	for c := range perCase {
		cases = append(cases, c)
	}
	sort.Strings(cases)
	for _, e := range EntryPoints {
		text, err := source(e.File)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(text, "\n")
		for _, marker := range e.Funcs {
			start, end := funcBody(lines, marker)
			if start < 0 {
				return nil, fmt.Errorf("%s: no definition of %s (the entry points are 6.12's)", e.File, marker)
			}
			name := funcName(marker)
			for _, i := range live(lines, start, end) {
				kind := ""
				switch l := lines[i]; {
				case errnoRe.MatchString(l) && !strings.HasPrefix(strings.TrimSpace(l), "*") && !strings.HasPrefix(strings.TrimSpace(l), "/*"):
					kind = "error"
				case flagRe.MatchString(l):
					kind = "flag check"
				}
				if kind == "" {
					continue
				}
				c := Check{Syscall: e.Syscall, File: e.File, Line: i + 1, Func: name, Kind: kind, Text: strings.TrimSpace(lines[i]), Unreachable: unreachable(name, lines, i)}
				for _, cs := range cases {
					f := perCase[cs].Find(e.File)
					if f == nil {
						continue
					}
					n, counted := countAt(f, lines, i+1, start+1, end+1)
					c.Executed = c.Executed || counted
					if n > 0 {
						c.Cases = append(c.Cases, cs)
					}
				}
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// countAt is how often line (1-based) of the function spanning lines
// first..last ran in f, and whether that could be told. gcc often puts
// no count on a guarded error return ("if (c)\n\treturn -EINVAL;": the
// returns share one block), so for a line without a count it reasons
// from the flow around it: a return or goto under an if ran as often as
// the if ran less the next counted line after it (what did not leave
// went on); a line after a return or goto ran as often as the next
// counted line; any other line ran as often as the counted line before it.
func countAt(f *File, text []string, line, first, last int) (int64, bool) {
	if c, ok := f.Lines[line]; ok {
		return c, true
	}
	prev := 0
	for l := line - 1; l >= first; l-- {
		if _, ok := f.Lines[l]; ok {
			prev = l
			break
		}
	}
	if prev == 0 {
		return 0, false
	}
	t := strings.TrimSpace(text[line-1])
	leaves := strings.HasPrefix(t, "return") || strings.HasPrefix(t, "goto")
	pt := strings.TrimSpace(text[prev-1])
	if !leaves && (strings.HasPrefix(pt, "return") || strings.HasPrefix(pt, "goto")) {
		// Nothing falls through from a return: the line is the start
		// of what follows it, and ran as often as that.
		for l := line + 1; l <= last; l++ {
			if c, ok := f.Lines[l]; ok {
				return c, true
			}
		}
		return 0, false
	}
	if !leaves || !strings.HasPrefix(pt, "if") && !strings.HasPrefix(pt, "} else if") {
		return f.Lines[prev], true
	}
	for l := line + 1; l <= last; l++ {
		if c, ok := f.Lines[l]; ok {
			return max(f.Lines[prev]-c, 0), true
		}
	}
	return 0, false
}

// funcBody finds the definition whose first line starts with marker or
// names it after a type ("static long __do_splice("), and returns the
// indexes of its body's first and last lines (kernel style: the body's
// braces alone on their lines); -1 when there is none.
func funcBody(lines []string, marker string) (int, int) {
	for i, l := range lines {
		if l == "" || l[0] == ' ' || l[0] == '\t' || l[0] == '#' || l[0] == '}' {
			continue
		}
		if !strings.HasPrefix(l, marker) && !strings.Contains(l, " "+marker) && !strings.Contains(l, "*"+marker) {
			continue
		}
		for j := i; j < len(lines) && j < i+12; j++ {
			if strings.HasSuffix(strings.TrimSpace(lines[j]), ";") && lines[j] != "" && lines[j][0] != '\t' {
				break // a prototype
			}
			if lines[j] == "{" {
				for k := j + 1; k < len(lines); k++ {
					if lines[k] == "}" {
						return j + 1, k - 1
					}
				}
			}
		}
	}
	return -1, -1
}

// EntryLines maps each line (1-based) of the entry points' bodies in
// file's text to its function's name: where mutants of the syscalls'
// argument checks are made. Lines inside #if 0 are left out.
func EntryLines(file, text string) map[int]string {
	lines := strings.Split(text, "\n")
	out := map[int]string{}
	for _, e := range EntryPoints {
		if e.File != file {
			continue
		}
		for _, marker := range e.Funcs {
			start, end := funcBody(lines, marker)
			if start < 0 {
				continue
			}
			for _, i := range live(lines, start, end) {
				out[i+1] = funcName(marker)
			}
		}
	}
	return out
}

// headRe finds a definition's name on its first line: "static long
// do_tee(" or "SYSCALL_DEFINE4(tee,".
var headRe = regexp.MustCompile(`^(?:SYSCALL_DEFINE\d\((\w+),|(?:[\w*]+[\s*]+)*?\**(\w+)\()`)

// FuncLines maps each line (1-based) of every function body in text
// (kernel style: a definition at column 0, its body's braces alone on
// their lines) to the function's name, leaving out #if 0 blocks: where
// mutants of the whole file go.
func FuncLines(text string) map[int]string {
	lines := strings.Split(text, "\n")
	out := map[int]string{}
	for j := 0; j < len(lines); j++ {
		if lines[j] != "{" {
			continue
		}
		name := ""
		for i := j - 1; i >= 0 && i >= j-8; i-- {
			l := lines[i]
			if l == "" || l[0] == '}' || l[0] == '#' || strings.HasSuffix(l, ";") || strings.Contains(l, "=") {
				break
			}
			if l[0] == ' ' || l[0] == '\t' {
				continue
			}
			if m := headRe.FindStringSubmatch(l); m != nil {
				if m[1] != "" {
					name = "sys_" + m[1]
				} else {
					name = m[2]
				}
			}
			break
		}
		end := j + 1
		for end < len(lines) && lines[end] != "}" {
			end++
		}
		if name != "" && end < len(lines) {
			for _, i := range live(lines, j+1, end-1) {
				out[i+1] = name
			}
		}
		j = end
	}
	return out
}

// funcName is a function marker's name: sys_tee for
// SYSCALL_DEFINE4(tee, and do_tee for do_tee(.
func funcName(marker string) string {
	if i := strings.Index(marker, "("); strings.HasPrefix(marker, "SYSCALL_DEFINE") && i > 0 {
		return "sys_" + strings.TrimSuffix(marker[i+1:], ",")
	}
	return strings.TrimSuffix(marker, "(")
}

// live returns the indexes start..end of lines that are not inside an
// #if 0 block (nor the directives that open and close it).
func live(lines []string, start, end int) []int {
	var out []int
	dead := 0 // depth inside #if 0
	for i := start; i <= end; i++ {
		t := strings.TrimSpace(lines[i])
		switch {
		case t == "#if 0" || (dead > 0 && strings.HasPrefix(t, "#if")):
			dead++
			continue
		case dead > 0 && strings.HasPrefix(t, "#endif"):
			dead--
			continue
		}
		if dead == 0 {
			out = append(out, i)
		}
	}
	return out
}
