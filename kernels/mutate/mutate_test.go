package mutate

import (
	"strings"
	"testing"
)

const text = `static long f(struct file *out, size_t len, unsigned int flags)
{
	if (unlikely(flags & ~SPLICE_F_ALL))
		return -EINVAL;
	if (out->f_mode & FMODE_PWRITE)
		return -ESPIPE;
	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	/* -EFAULT in a comment */
	*off_out = offset;
	out->f_pos += len;
	ret = len;
	return 0;
}
`

// Each operator on the lines it fits, nowhere else; "->" is no
// comparison; comments are left alone; the patch is one line's change.
func TestGenerate(t *testing.T) {
	lines := map[int]string{}
	for i := 3; i <= 13; i++ {
		lines[i] = "f"
	}
	got := map[string]string{}
	for _, m := range Generate("fs/splice.c", text, lines, nil) {
		got[m.ID] = strings.TrimSpace(m.New)
	}
	want := map[string]string{
		"errno-swap:fs/splice.c:4":      "return -EBADF;",
		"errno-swap:fs/splice.c:6":      "return -EINVAL;",
		"drop-return:fs/splice.c:4":     "; /* patchtest mutate: return -EINVAL; dropped */",
		"drop-return:fs/splice.c:6":     "; /* patchtest mutate: return -ESPIPE; dropped */",
		"negate:fs/splice.c:3":          "if (!(unlikely(flags & ~SPLICE_F_ALL)))",
		"negate:fs/splice.c:5":          "if (!(out->f_mode & FMODE_PWRITE))",
		"negate:fs/splice.c:7":          "if (!(len > MAX_RW_COUNT))",
		"off-by-one:fs/splice.c:7":      "if (len >= MAX_RW_COUNT)",
		"drop-flag-check:fs/splice.c:3": "if (0 && (unlikely(flags & ~SPLICE_F_ALL)))",
		"drop-flag-check:fs/splice.c:5": "if (0 && (out->f_mode & FMODE_PWRITE))",
		"drop-writeback:fs/splice.c:10": "; /* patchtest mutate: *off_out = offset; dropped */",
		"drop-writeback:fs/splice.c:11": "; /* patchtest mutate: out->f_pos += len; dropped */",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected mutant %s: %q", id, got[id])
		}
	}
	m := Generate("fs/splice.c", text, map[int]string{4: "f"}, []string{ErrnoSwap})
	if len(m) != 1 || !strings.Contains(string(m[0].Patch()), "@@ -4,1 +4,1 @@\n-\t\treturn -EINVAL;\n+\t\treturn -EBADF;\n") {
		t.Errorf("patch:\n%s", m[0].Patch())
	}
}
