package fuzz

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// KcovPath is the kernel's coverage device (CONFIG_KCOV, under debugfs).
const KcovPath = "/sys/kernel/debug/kcov"

// The kcov ioctls (include/uapi/linux/kcov.h) and its trace mode.
const (
	kcovInitTrace = 0x80086301 // _IOR('c', 1, unsigned long)
	kcovEnable    = 0x6364     // _IO('c', 100)
	kcovDisable   = 0x6365     // _IO('c', 101)
	kcovTracePC   = 0
	// kcovWords is the size of a worker's trace buffer in PCs (512 KiB,
	// which the kernel allocates and zeroes for each worker): past it the
	// kernel stops recording, so a program that writes megabytes loses
	// the coverage of its last calls. A 2 MiB buffer cost 16 % of the
	// fuzzing rate (13.2 against 15.8 programs/s, 30 s, seed 11).
	kcovWords = 1 << 16
)

// familyFuncs names the kernel functions whose basic blocks count as
// coverage: the splice family and the paths its calls take (pipes,
// iov_iter, the page cache's and tmpfs's reads, the socket splice
// paths, copy_file_range, the read/write syscalls). Everything else a
// program reaches (the Go runtime's own syscalls, the scheduler, memory
// management) would make every program look new.
var familyFuncs = regexp.MustCompile(`splice|pipe|(^|_)tee|vmsplice|sendfile|copy_file_range|` +
	`iov_iter|(^|_)iter(_|$)|import_iovec|iovec|rw_verify_area|(^|_)(vfs|do|ksys)_(p?read|p?write)|` +
	`filemap_(read|get_pages|splice)|shmem_file_(read|write|splice)|generic_file_(read|write)|` +
	`memfd|eventfd|tcp_(recvmsg|sendmsg|read_sock)|unix_stream_(read|sendmsg|recvmsg)|skb_(splice|send_sock|copy_datagram)|` +
	`udp_(sendmsg|recvmsg)|fcntl|do_fcntl|remap_file_range`)

// A pcRange is one family function's text: [Start, End).
type pcRange struct{ Start, End uint64 }

// FamilyRanges reads /proc/kallsyms (or a System.map) and returns the
// text of the family's functions, sorted, and how many functions that
// is. A function ends where the next text symbol starts.
func FamilyRanges(r io.Reader) ([]pcRange, int, error) {
	type sym struct {
		addr uint64
		name string
	}
	var syms []sym
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || (f[1] != "t" && f[1] != "T") {
			continue
		}
		a, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || a == 0 {
			continue
		}
		syms = append(syms, sym{a, f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	slices.SortFunc(syms, func(a, b sym) int {
		switch {
		case a.addr < b.addr:
			return -1
		case a.addr > b.addr:
			return 1
		}
		return 0
	})
	var out []pcRange
	n := 0
	for i, s := range syms {
		if i+1 == len(syms) || syms[i+1].addr == s.addr || !familyFuncs.MatchString(s.name) {
			continue
		}
		n++
		if k := len(out); k > 0 && out[k-1].End == s.addr {
			out[k-1].End = syms[i+1].addr
			continue
		}
		out = append(out, pcRange{s.addr, syms[i+1].addr})
	}
	return out, n, nil
}

// writeRanges and readRanges pass the ranges from the server to its
// workers: pairs of little-endian uint64s.
func writeRanges(path string, rs []pcRange) error {
	b := make([]byte, 0, 16*len(rs))
	for _, r := range rs {
		b = binary.LittleEndian.AppendUint64(b, r.Start)
		b = binary.LittleEndian.AppendUint64(b, r.End)
	}
	return os.WriteFile(path, b, 0o600)
}

func readRanges(path string) ([]pcRange, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rs := make([]pcRange, len(b)/16)
	for i := range rs {
		rs[i] = pcRange{binary.LittleEndian.Uint64(b[16*i:]), binary.LittleEndian.Uint64(b[16*i+8:])}
	}
	return rs, nil
}

func (r pcRange) contains(pc uint64) bool { return pc >= r.Start && pc < r.End }

// inRanges reports whether pc lies in one of rs (sorted, disjoint).
func inRanges(rs []pcRange, pc uint64) bool {
	i, _ := slices.BinarySearchFunc(rs, pc, func(r pcRange, pc uint64) int {
		switch {
		case r.End <= pc:
			return -1
		case r.Start > pc:
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].contains(pc)
}

// kcov is one thread's coverage buffer.
type kcov struct {
	fd     int
	mem    []byte
	ranges []pcRange
}

// openKcov opens the coverage device and maps a trace buffer.
func openKcov(ranges []pcRange) (*kcov, error) {
	fd, err := unix.Open(KcovPath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("kcov: %w", err)
	}
	if err := unix.IoctlSetInt(fd, kcovInitTrace, kcovWords); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("kcov: init trace: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, kcovWords*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("kcov: mmap: %w", err)
	}
	return &kcov{fd: fd, mem: mem, ranges: ranges}, nil
}

func (k *kcov) count() *uint64 { return (*uint64)(unsafe.Pointer(&k.mem[0])) }

// enable starts tracing the calling thread, which it locks to the
// calling goroutine: the program's calls must all run on it.
func (k *kcov) enable() error {
	runtime.LockOSThread()
	if err := unix.IoctlSetInt(k.fd, kcovEnable, kcovTracePC); err != nil {
		return fmt.Errorf("kcov: enable: %w", err)
	}
	atomic.StoreUint64(k.count(), 0)
	return nil
}

// collect stops tracing and returns the program's signal in the family:
// each basic block reached and each edge between two of them taken in
// order, as sorted, distinct 32-bit values (syzkaller's scheme: a block
// is its PC's low bits, an edge the block xor a hash of the one before).
func (k *kcov) collect() []uint32 {
	n := atomic.LoadUint64(k.count())
	unix.IoctlSetInt(k.fd, kcovDisable, 0)
	if n >= kcovWords {
		n = kcovWords - 1
	}
	seen := map[uint32]bool{}
	var prev uint32
	for i := uint64(1); i <= n; i++ {
		pc := binary.LittleEndian.Uint64(k.mem[8*i:])
		if !inRanges(k.ranges, pc) {
			continue
		}
		b := uint32(pc)
		seen[b] = true
		if prev != 0 {
			seen[b^hash32(prev)] = true
		}
		prev = b
	}
	out := make([]uint32, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// hash32 mixes a block's value before it is combined into an edge.
func hash32(a uint32) uint32 {
	a = (a ^ 61) ^ (a >> 16)
	a += a << 3
	a ^= a >> 4
	a *= 0x27d4eb2d
	a ^= a >> 15
	return a
}

// writeCover and readCover pass a program's signal from its worker to
// the server: little-endian uint32s.
func writeCover(path string, sig []uint32) {
	b := make([]byte, 0, 4*len(sig))
	for _, s := range sig {
		b = binary.LittleEndian.AppendUint32(b, s)
	}
	os.WriteFile(path, b, 0o600)
}

func readCover(path string) []uint32 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := make([]uint32, len(b)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

// The server tells its workers where the family's ranges are and where
// each program's signal goes.
const (
	envKcovRanges = "PATCHTEST_FUZZ_KCOV"
	envCoverOut   = "PATCHTEST_FUZZ_COVER"
)

// coverage is the server's view of KCOV: the ranges file its workers
// read, or none when the kernel has no KCOV.
type coverage struct {
	ranges string // path; "" without KCOV
	funcs  int
	why    string // why there is none
}

// setUpCoverage finds KCOV (mounting debugfs when it is not yet) and
// writes the family's ranges from /proc/kallsyms into dir.
func setUpCoverage(dir string) coverage {
	if _, err := os.Stat(KcovPath); err != nil {
		unix.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, "")
	}
	if _, err := os.Stat(KcovPath); err != nil {
		return coverage{why: "no KCOV in the guest kernel"}
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return coverage{why: fmt.Sprintf("KCOV without kallsyms: %v", err)}
	}
	defer f.Close()
	rs, n, err := FamilyRanges(f)
	if err != nil || n == 0 {
		return coverage{why: "KCOV, but kallsyms names none of the splice family's functions (kptr_restrict?)"}
	}
	path := dir + "/kcov-ranges"
	if err := writeRanges(path, rs); err != nil {
		return coverage{why: fmt.Sprintf("KCOV: %v", err)}
	}
	return coverage{ranges: path, funcs: n}
}

// workerKcov is a worker's coverage buffer when its server found KCOV,
// and the file the program's signal goes to.
func workerKcov() (*kcov, string) {
	path, out := os.Getenv(envKcovRanges), os.Getenv(envCoverOut)
	if path == "" || out == "" {
		return nil, ""
	}
	rs, err := readRanges(path)
	if err != nil {
		return nil, ""
	}
	k, err := openKcov(rs)
	if err != nil {
		return nil, ""
	}
	return k, out
}
