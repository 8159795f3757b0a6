package coverage

import (
	"maps"
	"strings"
	"testing"
)

const source = `/* a prototype first, which is no definition */
static long do_tee(struct file *in, struct file *out, size_t len, unsigned int flags);

SYSCALL_DEFINE4(tee, int, fdin, int, fdout, size_t, len, unsigned int, flags)
{
	int error = -EBADF;

	if (unlikely(flags & ~SPLICE_F_ALL))
		return -EINVAL;
	if (!len)
		return 0;
	return error;
#if 0
	if (flags & SPLICE_F_NONBLOCK)
		return -EAGAIN;
#endif
}

COMPAT_SYSCALL_DEFINE4(tee, int, fdin, int, fdout, size_t, len, unsigned int, flags)
{
	return -ENOSYS;
}
`

func trace(t *testing.T, text string) Trace {
	t.Helper()
	tr, err := ReadTrace(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Tracefiles add up per file; figures count what ran; each check names
// the cases whose counters reach it, and a definition is found past its
// prototype and apart from its compat twin.
func TestChecks(t *testing.T) {
	// Case a passes an unknown flag; case b a zero length. gcc put no
	// count on the guarded return of line 9: it ran as often as line 8's
	// if less line 10.
	a := trace(t, "TN:a\nSF:/src/fs/splice.c\nFN:4,__x64_sys_tee\nFNDA:1,__x64_sys_tee\nDA:6,1\nDA:8,1\nDA:10,0\nDA:11,0\nDA:12,0\nBRDA:8,0,0,1\nBRDA:8,0,1,0\nend_of_record\n")
	b := trace(t, "TN:b\nSF:/src/fs/splice.c\nFN:4,__x64_sys_tee\nFNDA:1,__x64_sys_tee\nDA:6,1\nDA:8,1\nDA:10,1\nDA:11,1\nDA:12,0\nBRDA:8,0,0,0\nBRDA:8,0,1,1\nend_of_record\n")
	saved := EntryPoints
	EntryPoints = []Entry{{"tee", "fs/splice.c", []string{"SYSCALL_DEFINE4(tee,"}}}
	defer func() { EntryPoints = saved }()
	checks, err := Checks(func(string) (string, error) { return source, nil }, map[string]Trace{"tee/a": a, "tee/b": b})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int][]string{}
	for _, c := range checks {
		got[c.Line] = c.Cases
		if c.Func != "sys_tee" {
			t.Errorf("line %d in %q", c.Line, c.Func)
		}
	}
	want := map[int]string{6: "tee/a tee/b", 8: "tee/a tee/b", 9: "tee/a"}
	if len(got) != len(want) {
		t.Errorf("checks at %v, want lines 6, 8, 9 (not the compat twin's, none inside #if 0)", got)
	}
	for line, cases := range want {
		if strings.Join(got[line], " ") != cases {
			t.Errorf("line %d reached by %v, want %s", line, got[line], cases)
		}
	}

	// Both cases together: every line but the last ran; both branches.
	all := trace(t, "SF:/src/fs/splice.c\nFN:4,__x64_sys_tee\nFNDA:1,__x64_sys_tee\nDA:6,1\nDA:8,1\nDA:9,1\nend_of_record\nSF:/src/fs/splice.c\nFNDA:1,__x64_sys_tee\nDA:10,1\nDA:11,1\nDA:12,0\nBRDA:8,0,0,1\nBRDA:8,0,1,1\nend_of_record\n")
	s := Summarize(all, []string{"fs/splice.c", "fs/pipe.c"})
	if len(s) != 1 || s[0].Lines != (Counts{6, 5}) || s[0].Branches != (Counts{2, 2}) || s[0].Functions != (Counts{1, 1}) || s[0].Funcs[0].Calls != 2 {
		t.Errorf("summary %+v", s)
	}
}

func TestReadTraceErrors(t *testing.T) {
	for _, bad := range []string{"DA:1,1\n", "SF:x\nDA:one,1\n", "SF:x\nBRDA:1,0,0\n", "SF:x\nFNDA:x,f\n"} {
		if _, err := ReadTrace(strings.NewReader(bad)); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}

func TestUnreachable(t *testing.T) {
	lines := []string{
		"	if (flags & COPY_FILE_SPLICE) {",
		"	} else if (file_out->f_op->copy_file_range) {",
		"		if (file_in->f_op->copy_file_range !=",
		"		    file_out->f_op->copy_file_range)",
		"			return -EXDEV;",
		"	} else if (file_inode(file_in)->i_sb != file_inode(file_out)->i_sb) {",
		"		return -EXDEV;",
		"	}",
	}
	for _, tc := range []struct {
		fn   string
		line int // 0-based
		want bool
	}{
		{"generic_copy_file_checks", 4, true},  // under the ->copy_file_range test
		{"generic_copy_file_checks", 6, false}, // the i_sb test: tmpfs against procfs reaches it
		{"vfs_copy_file_range", 4, false},      // another function
		{"sys_sendfile", 6, true},              // the whole function
	} {
		if got := unreachable(tc.fn, lines, tc.line) != ""; got != tc.want {
			t.Errorf("%s line %d: unreachable %v, want %v", tc.fn, tc.line, got, tc.want)
		}
	}
}

func TestFuncLines(t *testing.T) {
	text := strings.Join([]string{
		"static const struct pipe_buf_operations ops = {", // 1: no function
		"	.release = f,",
		"};",
		"static ssize_t do_tee(struct file *in,", // 4
		"		      size_t len)",
		"{",
		"	return 0;", // 7
		"}",
		"",
		"SYSCALL_DEFINE4(tee, int, fdin, int, fdout, size_t, len, unsigned int, flags)", // 10
		"{",
		"#if 0",
		"	x();",
		"#endif",
		"	return do_tee();", // 15
		"}",
		"struct pipe_inode_info *get_pipe_info(struct file *file, bool for_splice)", // 17
		"{",
		"	return NULL;", // 19
		"}",
	}, "\n")
	got := FuncLines(text)
	want := map[int]string{7: "do_tee", 15: "sys_tee", 19: "get_pipe_info"}
	if !maps.Equal(got, want) {
		t.Errorf("FuncLines = %v, want %v", got, want)
	}
}
