package fuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/setup"
)

// The test binary is its own fuzz worker when this is set: the tests
// run programs as the guest does, one process each.
const workerEnv = "PATCHTEST_FUZZ_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		if err := Worker(os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHost runs p in a worker process on this host's kernel.
func runHost(t *testing.T, p Prog) Trace {
	t.Helper()
	b, _ := json.Marshal(p)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), workerEnv+"=1", "GODEBUG=asyncpreemptoff=1")
	cmd.Stdin = bytes.NewReader(b)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("worker on %s: %v", b, err)
	}
	return Trace(strings.Split(strings.TrimRight(string(out), "\n"), "\n"))
}

func TestGeneratorDeterministic(t *testing.T) {
	a, b := NewGenerator(7), NewGenerator(7)
	other := NewGenerator(8)
	same := 0
	for range 500 {
		p, q, r := a.Generate(), b.Generate(), other.Generate()
		if err := p.Check(); err != nil {
			t.Fatalf("generated %v: %v", p, err)
		}
		if m := a.Mutate(p); m.Check() != nil || len(m.Calls) > MaxCalls {
			t.Fatalf("mutated %v into %v: %v", p, m, m.Check())
		}
		b.Mutate(q)
		if p.Hash() != q.Hash() {
			t.Fatalf("seed 7 gave %v and %v", p, q)
		}
		if p.Hash() == r.Hash() {
			same++
		}
	}
	if same > 10 {
		t.Errorf("seeds 7 and 8 gave %d of 500 programs alike", same)
	}
}

func TestGeneratorReachesEveryOperation(t *testing.T) {
	g := NewGenerator(1)
	seen := map[string]bool{}
	for range 3000 {
		for _, c := range g.Generate().Calls {
			seen[c.Op] = true
		}
	}
	for _, op := range Ops() {
		if !seen[op] {
			t.Errorf("3000 programs never call %s", op)
		}
	}
}

func TestCallString(t *testing.T) {
	for _, tc := range []struct {
		c    Call
		want string
	}{
		{Call{"splice", []int64{0, NoOff, 3, 0, 4096, spliceNonblock | spliceMore}}, "splice(r0, NULL, r3, &0, 4096, NONBLOCK|MORE)"},
		{Call{"splice", []int64{0, 5, 1, NoOff, -1, 0x80000010}}, "splice(r0, &5, r1, NULL, -1, 0x80000010)"},
		{Call{"vmsplice", []int64{1, 2, 100, 4097, 3, spliceGift}}, "vmsplice(r1, b2, 100, 4097, 3, GIFT)"},
		{Call{"pipe2", []int64{0, 1, oNONBLOCK | oDIRECT}}, "pipe2(r0, r1, O_NONBLOCK|O_DIRECT)"},
		{Call{"pwritev2", []int64{2, 1, -1, rwfNOWAIT | 0x80}}, "pwritev2(r2, 1, -1, RWF_NOWAIT|0x80)"},
		{Call{"tee", []int64{0, 3, Held, 0}}, "tee(r0, r3, held, 0)"},
		{Call{"vmsplice", []int64{0, 0, 0, Held - 1, 1, 0}}, "vmsplice(r0, b0, 0, held-1, 1, 0)"},
		{Call{"splice", []int64{0, NoOff, 3, NoOff, Held + 1, 0}}, "splice(r0, NULL, r3, NULL, held+1, 0)"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, p := range []Prog{
		{Calls: []Call{{"nosuch", nil}}},
		{Calls: []Call{{"close", []int64{}}}},
		{Calls: []Call{{"close", []int64{FdSlots}}}},
		{Calls: []Call{{"poke", []int64{BufSlots, 0, 0}}}},
	} {
		if p.Check() == nil {
			t.Errorf("%v passed Check", p)
		}
	}
}

func TestFirstDiff(t *testing.T) {
	a := Trace{"0 x() = 0", "1 y() = 4096"}
	for _, tc := range []struct {
		b    Trace
		want int
	}{
		{Trace{"0 x() = 0", "1 y() = 4096"}, -1},
		{Trace{"0 x() = 0", "1 y() = -1 EAGAIN"}, 1},
		{Trace{"0 x() = 0"}, 1},
		{Trace{"0 x() = -1 EBADF", "1 y() = 4096"}, 0},
	} {
		if got := FirstDiff(a, tc.b); got != tc.want {
			t.Errorf("FirstDiff(%q, %q) = %d, want %d", a, tc.b, got, tc.want)
		}
	}
	if c, o := Step("3 splice(r0, NULL, r1, NULL, 1, 0) = -1 EAGAIN"); c != "splice(r0, NULL, r1, NULL, 1, 0)" || o != "-1 EAGAIN" {
		t.Errorf("Step: %q %q", c, o)
	}
	if Op("3 splice(r0) = 1") != "splice" || Class("-1 EAGAIN") != "EAGAIN" || Class("4096 data=1") != "value" || Class("blocked") != "blocked" {
		t.Error("Op or Class")
	}
}

// A known program on this host's kernel: the data vmsplice hands a pipe
// reads back with the buffer's checksum, and the pipe is empty after.
func TestExecuteKnownProgram(t *testing.T) {
	p := Prog{Calls: []Call{
		{"pipe2", []int64{0, 1, oNONBLOCK}},
		{"mmap", []int64{0, 1}},
		{"vmsplice", []int64{1, 0, 0, 4096, 1, 0}},
		{"fionread", []int64{0}},
		{"read", []int64{0, 65536}},
		{"read", []int64{0, 1}},
		{"close", []int64{0}},
		{"close", []int64{0}},
		{"tee", []int64{5, 6, 1, 0}},
	}}
	page := make([]byte, 4096)
	fill(page, 100)
	tr := runHost(t, p)
	want := []string{
		"0 pipe2(r0, r1, O_NONBLOCK) = 0",
		"1 mmap(b0, 1) = 0",
		"2 vmsplice(r1, b0, 0, 4096, 1, 0) = 4096 buf=" + hex8(Sum(page)),
		"3 fionread(r0) = 0 n=4096",
		"4 read(r0, 65536) = 4096 data=" + hex8(Sum(page)),
		"5 read(r0, 1) = -1 EAGAIN",
		"6 close(r0) = 0",
		"7 close(r0) = -1 EBADF",
		"8 tee(r5, r6, 1, 0) = -1 EBADF",
	}
	if !slices.Equal(tr, want) {
		t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(tr, "\n"), strings.Join(want, "\n"))
	}
}

// edgeProgram meets the edges a call's outcome alone does not show: a
// pipe whose reader is gone raises SIGPIPE (the trace names it, on the
// call that raised it only), an offset pointer into an unmapped page is
// EFAULT, and a file grows to MaxFileSize and no further.
func edgeProgram() Prog {
	return Prog{Calls: []Call{
		{"pipe2", []int64{0, 1, oNONBLOCK}},
		{"close", []int64{0}},
		{"write", []int64{1, 1}},
		{"mmap", []int64{0, 1}},
		{"vmsplice", []int64{1, 0, 0, 1, 1, 0}},
		{"file", []int64{2, 4096, oRDWR}},
		{"pipe2", []int64{3, 4, oNONBLOCK}},
		{"splice", []int64{2, BadOff, 4, NoOff, 1, 0}},
		{"splice", []int64{2, 0, 4, NoOff, 1, 0}},
		{"splice", []int64{3, NoOff, 2, BadOff, 1, 0}},
		{"sendfile", []int64{4, 2, BadOff, 1}},
		{"write", []int64{4, 1}},
		{"memfd", []int64{5, 4096}},
		{"lseek", []int64{5, 0, 2}},
		{"sendfile", []int64{5, 5, 0, 1 << 31}},
		{"fsize", []int64{5}},
		{"write", []int64{5, 1}},
	}}
}

func TestExecuteEdges(t *testing.T) {
	page := make([]byte, 4096)
	fill(page, 100)
	want := []string{
		"0 pipe2(r0, r1, O_NONBLOCK) = 0",
		"1 close(r0) = 0",
		"2 write(r1, 1) = -1 EPIPE sig=PIPE",
		"3 mmap(b0, 1) = 0",
		"4 vmsplice(r1, b0, 0, 1, 1, 0) = -1 EPIPE buf=" + hex8(Sum(page)) + " sig=PIPE",
		"5 file(r2, 4096, O_RDWR) = 0",
		"6 pipe2(r3, r4, O_NONBLOCK) = 0",
		"7 splice(r2, BAD, r4, NULL, 1, 0) = -1 EFAULT",
		"8 splice(r2, &0, r4, NULL, 1, 0) = 1 off_in=1",
		"9 splice(r3, NULL, r2, BAD, 1, 0) = -1 EFAULT",
		"10 sendfile(r4, r2, BAD, 1) = -1 EFAULT",
		"11 write(r4, 1) = 1",
		"12 memfd(r5, 4096) = 0",
		"13 lseek(r5, 0, 2) = 4096",
		"14 sendfile(r5, r5, &0, 2147483648) = 8384512 off=8384512 sig=XFSZ",
		"15 fsize(r5) = 0 size=8388608", // a memfd sent into itself stops at MaxFileSize
		"16 write(r5, 1) = -1 EFBIG sig=XFSZ",
	}
	if tr := runHost(t, edgeProgram()); !slices.Equal(tr, want) {
		t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(tr, "\n"), strings.Join(want, "\n"))
	}
}

// heldProgram asks, by vmsplice, splice and readv, one byte less than,
// exactly and one byte more than its pipe holds.
func heldProgram() Prog {
	return Prog{Calls: []Call{
		{"pipe2", []int64{0, 1, oNONBLOCK}},
		{"pipe2", []int64{2, 3, oNONBLOCK}},
		{"mmap", []int64{0, 1}},
		{"write", []int64{1, 11}},
		{"vmsplice", []int64{0, 0, 0, Held - 1, 1, 0}},
		{"write", []int64{1, 11}},
		{"splice", []int64{0, NoOff, 3, NoOff, Held + 1, 0}},
		{"readv", []int64{2, Held, 2}},
		{"readv", []int64{2, Held - 1, 1}},
		{"tee", []int64{6, 3, Held + 1, 0}},
		{"file", []int64{4, 0, oRDWR}},
		{"lseek", []int64{4, 4 << 20, 0}},
		{"write", []int64{4, 1}},
		{"lseek", []int64{4, 0, 0}},
		{"readv", []int64{4, Held, 1}},
	}}
}

// Every operation that can draw a Held length resolves it at that
// argument: an unresolved one would ask for 2^50 bytes.
func TestHeldArgs(t *testing.T) {
	for _, op := range Ops() {
		for j, a := range specs[op].Args {
			if a.Kind != Value || !slices.ContainsFunc(a.Values, isHeld) {
				continue
			}
			if h, ok := heldArgs[op]; !ok || h[0] != j {
				t.Errorf("%s draws Held for argument %d (%s), heldArgs has %v", op, j, a.Name, heldArgs[op])
			}
		}
	}
}

// A Held length is what the source holds then (FIONREAD), give or take one.
func TestExecuteHeld(t *testing.T) {
	tr := runHost(t, heldProgram())
	want := []string{
		"4 vmsplice(r0, b0, 0, held-1, 1, 0) = 10 ",
		"6 splice(r0, NULL, r3, NULL, held+1, 0) = 12",
		"7 readv(r2, held, 2) = 12 data=",
		"8 readv(r2, held-1, 1) = 0",
		"9 tee(r6, r3, held+1, 0) = -1 EBADF",
		"14 readv(r4, held, 1) = 1048577 data=", // a sparse 4 MiB: MaxHeld, not 2^22+1
	}
	for _, w := range want {
		if !slices.ContainsFunc(tr, func(l string) bool { return strings.HasPrefix(l, w) }) {
			t.Errorf("no line %q in the trace:\n%s", w, strings.Join(tr, "\n"))
		}
	}
}

func hex8(v uint32) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

// Generated programs run twice on one kernel give the same trace, and
// their C reproducers, built with gcc -static, print that trace too.
func TestCSourceMatchesExecute(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C programs")
	}
	gcc, err := setup.Program(t.Context(), setup.Need{Program: "gcc", Package: "build-essential", Why: "to build the fuzzer's C reproducers"}, false, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(42)
	dir := t.TempDir()
	before, _ := filepath.Glob("/tmp/fz??????")
	compared := 0
	progs := []Prog{heldProgram(), edgeProgram()}
	for range 60 {
		progs = append(progs, g.Generate())
	}
	for i, p := range progs {
		a := runHost(t, p)
		if slices.ContainsFunc(a, func(l string) bool { return strings.HasSuffix(l, "= blocked") }) {
			continue // 2 s each; the bound is the C's alarm, tested by the known program below
		}
		if b := runHost(t, p); !slices.Equal(a, b) {
			t.Errorf("program %d ran twice gave\n%s\nand\n%s", i, strings.Join(a, "\n"), strings.Join(b, "\n"))
			continue
		}
		src := filepath.Join(dir, "r.c")
		bin := filepath.Join(dir, "r")
		os.WriteFile(src, []byte(CSource(p, "test program", nil)), 0o644)
		if out, err := exec.CommandContext(context.Background(), gcc, "-static", "-O1", "-Wall", "-Werror", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s\n%s", err, out, CSource(p, "", nil))
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatalf("reproducer: %v", err)
		}
		c := Trace(strings.Split(strings.TrimRight(string(out), "\n"), "\n"))
		if d := FirstDiff(a, c); d >= 0 {
			t.Errorf("program %d: Go and C differ at line %d:\nGo: %s\nC:  %s\n%s", i, d, a.Line(d), c.Line(d), CSource(p, "", nil))
		}
		compared++
	}
	if compared < 40 {
		t.Errorf("only %d of %d programs compared", compared, len(progs))
	}
	after, _ := filepath.Glob("/tmp/fz??????")
	for _, d := range after {
		if !slices.Contains(before, d) {
			t.Errorf("a reproducer left its scratch directory %s", d)
		}
	}
}

// A program that blocks is traced "blocked" at the call, by the worker
// and by its reproducer alike.
func TestBlockedCall(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the bound")
	}
	p := Prog{Calls: []Call{{"pipe2", []int64{0, 1, 0}}, {"read", []int64{0, 1}}, {"close", []int64{0}}}}
	tr := runHost(t, p)
	want := Trace{"0 pipe2(r0, r1, 0) = 0", "1 read(r0, 1) = blocked"}
	if !slices.Equal(tr, want) {
		t.Errorf("trace %q, want %q", tr, want)
	}
}

// Serve runs each program in a scratch directory of its own and removes
// it however the worker ended: a program that wrote a file and then
// blocked (its worker exits from the bound's timer, running no deferred
// call) leaves nothing in TMPDIR.
func TestServeRemovesScratch(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the bound")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv(workerEnv, "1")
	blocked := Prog{Calls: []Call{{"file", []int64{4, 4096, oRDWR}}, {"pipe2", []int64{0, 1, 0}}, {"read", []int64{0, 1}}}}
	listing := Prog{Calls: []Call{{"file", []int64{5, 1, oRDWR}}, {"lseek", []int64{5, 0, 2}}}}
	var in bytes.Buffer
	for _, p := range []Prog{blocked, listing} {
		b, _ := json.Marshal(p)
		in.Write(append(b, '\n'))
	}
	var out bytes.Buffer
	if err := Serve(context.Background(), os.Args[0], &in, &out); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	var rs []Result
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r Result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("result: %v", err)
		}
		rs = append(rs, r)
	}
	if len(rs) != 2 || rs[0].Error != "" || rs[1].Error != "" || !slices.ContainsFunc(rs[0].Trace, func(l string) bool { return strings.HasSuffix(l, "= blocked") }) {
		t.Fatalf("results %+v, want the first blocked and no errors", rs)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("TMPDIR holds %v after Serve", left)
	}
}

// reach is the share of n generated programs (seed 7) that meet each
// state the generator is meant to reach often.
func reach(n int) map[string]float64 {
	g := NewGenerator(7)
	count := map[string]int{}
	family := map[string]bool{"splice": true, "tee": true, "vmsplice": true, "sendfile": true, "write": true, "read": true}
	for range n {
		p := g.Generate()
		st := &state{}
		met := map[string]bool{}
		for _, c := range p.Calls {
			s := specs[c.Op]
			for j, a := range s.Args {
				switch {
				case a.Kind == Fd && family[c.Op] && strings.HasSuffix(st.kind(c.Args[j]), "/hup"):
					met["family call on a hung-up end"] = true
				case a.Kind == Off && c.Args[j] == BadOff:
					met["unmapped offset pointer"] = true
				}
			}
			if (c.Op == "splice" || c.Op == "tee" || c.Op == "read" || c.Op == "readv") && st.fed[c.Args[0]] && st.kinds[c.Args[0]] == "pipe-rd" {
				met["takes from a pipe written to"] = true
			}
			if c.Op == "splice" && (isPipe(st.kinds[c.Args[0]]) || isPipe(st.kinds[c.Args[2]])) && st.kinds[c.Args[0]] != "" && st.kinds[c.Args[2]] != "" {
				met["splice with a pipe at one end, both open"] = true
			}
			st.apply(c)
		}
		for k := range met {
			count[k]++
		}
	}
	out := map[string]float64{}
	for k, v := range count {
		out[k] = float64(v) / float64(n)
	}
	return out
}

// The generator meets the states where the family's outcomes part often
// enough for a two-minute run (~2500 programs) to meet each many times:
// calls on a pipe or socket whose other end is closed, splices with a
// pipe at one end, offset pointers the kernel cannot read.
func TestGeneratorReachesStates(t *testing.T) {
	got := reach(5000)
	for k, min := range map[string]float64{
		"family call on a hung-up end":             0.10,
		"splice with a pipe at one end, both open": 0.20,
		"unmapped offset pointer":                  0.05,
		"takes from a pipe written to":             0.15,
	} {
		t.Logf("%-45s %.3f", k, got[k])
		if got[k] < min {
			t.Errorf("%s: %.3f of programs, want at least %.2f", k, got[k], min)
		}
	}
}

// A call's feature names the states of the descriptors it was given and
// how it ended: a hung-up pipe's end, a closed slot, a zero return, a
// signal.
func TestFeatures(t *testing.T) {
	p := Prog{Calls: []Call{
		{"pipe2", []int64{0, 1, oNONBLOCK}},
		{"pipe2", []int64{2, 3, oNONBLOCK}},
		{"close", []int64{1}},
		{"tee", []int64{0, 3, 1, spliceNonblock}},
		{"close", []int64{2}},
		{"write", []int64{3, 1}},
		{"read", []int64{4, 1}},
		{"pipe2", []int64{2, 5, 0}},
		{"write", []int64{3, 1}},
	}}
	tr := Trace{
		"0 pipe2(r0, r1, O_NONBLOCK) = 0",
		"1 pipe2(r2, r3, O_NONBLOCK) = 0",
		"2 close(r1) = 0",
		"3 tee(r0, r3, 1, NONBLOCK) = 0",
		"4 close(r2) = 0",
		"5 write(r3, 1) = -1 EPIPE sig=PIPE",
		"6 read(r4, 1) = -1 EBADF",
		"7 pipe2(r2, r5, 0) = 0",
		"8 write(r3, 1) = -1 EPIPE sig=PIPE",
	}
	want := []string{
		"pipe2() 0",
		"pipe2() 0",
		"close(pipe-wr) 0",
		"tee(pipe-rd/hup,pipe-wr) 0",
		"close(pipe-rd) 0",
		"write(pipe-wr/hup) EPIPE sig",
		"read() EBADF",
		"pipe2() 0",
		"write(pipe-wr/hup) EPIPE sig", // a new pipe in r2 does not reopen r3's
	}
	if got := Features(p, tr); !slices.Equal(got, want) {
		t.Errorf("features:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
