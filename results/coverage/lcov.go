// Package coverage reads what the catalogue reaches of the kernel: lcov
// tracefiles (geninfo's format, as lcov and genhtml read and write them)
// per case, line, branch and function figures per file and function, and
// for every error return and flag check of the splice family's syscall
// entry points, the cases that reach it.
package coverage

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// File is one source file's counts in a tracefile.
type File struct {
	Path string
	// Lines maps a line number to its execution count.
	Lines map[int]int64
	// Branches maps "line,block,branch" to its count (-1: not taken
	// because its block never ran).
	Branches map[string]int64
	// Funcs maps a function to its first line, FuncHits to its count.
	Funcs    map[string]int
	FuncHits map[string]int64
}

// Trace is a tracefile: its files by path.
type Trace map[string]*File

func (t Trace) file(path string) *File {
	f := t[path]
	if f == nil {
		f = &File{Path: path, Lines: map[int]int64{}, Branches: map[string]int64{}, Funcs: map[string]int{}, FuncHits: map[string]int64{}}
		t[path] = f
	}
	return f
}

// ReadTrace reads a tracefile; records of one file add up.
func ReadTrace(r io.Reader) (Trace, error) {
	t := Trace{}
	var f *File
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		key, val, _ := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		bad := func() error { return fmt.Errorf("tracefile line %d: bad %s record %q", n, key, val) }
		switch key {
		case "SF":
			f = t.file(val)
		case "end_of_record":
			f = nil
		case "DA", "FN", "FNDA", "BRDA":
			if f == nil {
				return nil, fmt.Errorf("tracefile line %d: %s outside a file record", n, key)
			}
			parts := strings.Split(val, ",")
			switch key {
			case "DA":
				if len(parts) < 2 {
					return nil, bad()
				}
				line, err1 := strconv.Atoi(parts[0])
				c, err2 := strconv.ParseInt(parts[1], 10, 64)
				if err1 != nil || err2 != nil {
					return nil, bad()
				}
				f.Lines[line] += c
			case "FN":
				if len(parts) < 2 {
					return nil, bad()
				}
				line, err := strconv.Atoi(parts[0])
				if err != nil {
					return nil, bad()
				}
				f.Funcs[parts[len(parts)-1]] = line
			case "FNDA":
				if len(parts) < 2 {
					return nil, bad()
				}
				c, err := strconv.ParseInt(parts[0], 10, 64)
				if err != nil {
					return nil, bad()
				}
				f.FuncHits[parts[1]] += c
			case "BRDA":
				if len(parts) != 4 {
					return nil, bad()
				}
				k := strings.Join(parts[:3], ",")
				c := int64(-1)
				if parts[3] != "-" {
					v, err := strconv.ParseInt(parts[3], 10, 64)
					if err != nil {
						return nil, bad()
					}
					c = v
				}
				if old, ok := f.Branches[k]; !ok || old < 0 {
					f.Branches[k] = c
				} else if c > 0 {
					f.Branches[k] = old + c
				}
			}
		}
	}
	return t, sc.Err()
}

// ReadTraceFile reads the tracefile at path.
func ReadTraceFile(path string) (Trace, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	t, err := ReadTrace(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Find returns the file whose path ends in suffix ("fs/splice.c").
func (t Trace) Find(suffix string) *File {
	for p, f := range t {
		if p == suffix || strings.HasSuffix(p, "/"+suffix) {
			return f
		}
	}
	return nil
}

// Paths lists the trace's files, sorted.
func (t Trace) Paths() []string {
	var out []string
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
