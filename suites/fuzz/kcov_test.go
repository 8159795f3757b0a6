package fuzz

import (
	"slices"
	"strings"
	"testing"
)

func TestFamilyRanges(t *testing.T) {
	kallsyms := `ffffffff81000000 T _stext
ffffffff81001000 T do_splice
ffffffff81001400 t splice_pipe_to_pipe
ffffffff81001900 T schedule
ffffffff81002000 T pipe_write
ffffffff81002000 T pipe_write_alias
ffffffff81002300 d pipe_fops
ffffffff81002400 T iov_iter_advance
ffffffff81002500 T futex_wait
0000000000000000 T vmsplice_hidden
ffffffff81003000 T _etext
`
	rs, n, err := FamilyRanges(strings.NewReader(kallsyms))
	if err != nil {
		t.Fatal(err)
	}
	// do_splice and splice_pipe_to_pipe join; pipe_write shares its
	// address with an alias and ends at iov_iter_advance, which ends at
	// futex_wait (data symbols are not text).
	want := []pcRange{{0xffffffff81001000, 0xffffffff81001900}, {0xffffffff81002000, 0xffffffff81002500}}
	if !slices.Equal(rs, want) || n != 4 {
		t.Fatalf("FamilyRanges = %x, %d functions; want %x, 4", rs, n, want)
	}
	for _, c := range []struct {
		pc   uint64
		want bool
	}{
		{0xffffffff81000fff, false},
		{0xffffffff81001000, true},
		{0xffffffff810018ff, true},
		{0xffffffff81001900, false}, // schedule
		{0xffffffff81002001, true},
		{0xffffffff81002450, true},
		{0xffffffff81002500, false},
		{0xffffffff81003000, false},
	} {
		if got := inRanges(rs, c.pc); got != c.want {
			t.Errorf("inRanges(%x) = %v, want %v", c.pc, got, c.want)
		}
	}
}

func TestFamilyFuncs(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"do_splice", true}, {"__do_sys_vmsplice", true}, {"do_tee", true}, {"link_pipe", true},
		{"do_sendfile", true}, {"vfs_copy_file_range", true}, {"copy_page_to_iter", true},
		{"filemap_read", true}, {"shmem_file_read_iter", true}, {"tcp_splice_read", true},
		{"vfs_readv", true}, {"do_writev", true}, {"ksys_pread64", true}, {"rw_verify_area", true},
		{"schedule", false}, {"futex_wait", false}, {"handle_mm_fault", false}, {"steer_cpu", false},
		{"kmem_cache_alloc", false}, {"do_sys_openat2", false},
	} {
		if got := familyFuncs.MatchString(c.name); got != c.want {
			t.Errorf("familyFuncs(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRangesAndCoverRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rs := []pcRange{{1, 5}, {0xffffffff81000000, 0xffffffff81000100}}
	if err := writeRanges(dir+"/r", rs); err != nil {
		t.Fatal(err)
	}
	got, err := readRanges(dir + "/r")
	if err != nil || !slices.Equal(got, rs) {
		t.Fatalf("readRanges = %v, %v; want %v", got, err, rs)
	}
	sig := []uint32{1, 7, 0xdeadbeef}
	writeCover(dir+"/c", sig)
	if got := readCover(dir + "/c"); !slices.Equal(got, sig) {
		t.Fatalf("readCover = %v, want %v", got, sig)
	}
	if got := readCover(dir + "/none"); got != nil {
		t.Fatalf("readCover of no file = %v", got)
	}
}
