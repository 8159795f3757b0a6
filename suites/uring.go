package suites

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// io_uring reaches do_splice() and do_tee() with offsets that splice(2)
// itself never passes down (its own checks come first): IORING_OP_SPLICE
// hands them to do_splice as they are. The cases submit one request on
// a ring of their own and read its completion; x/sys/unix has the
// syscall numbers but not the ring, so the little of it they need is
// here, laid out as <linux/io_uring.h> has it.

// io_uring opcodes and setup constants (<linux/io_uring.h>).
const (
	uringOpSplice   = 30 // IORING_OP_SPLICE
	uringOpTee      = 33 // IORING_OP_TEE
	uringOffSQRing  = 0
	uringOffCQRing  = 0x8000000
	uringOffSQEs    = 0x10000000
	uringEnterWait  = 1 // IORING_ENTER_GETEVENTS
	uringFeatSingle = 1 // IORING_FEAT_SINGLE_MMAP
	uringNoOffset   = ^uint64(0)
)

// uringParams is struct io_uring_params: 120 bytes.
type uringParams struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	Resv                                                                   [3]uint32
	SQOff                                                                  struct {
		Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
		UserAddr                                                        uint64
	}
	CQOff struct {
		Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, Resv1 uint32
		UserAddr                                                        uint64
	}
}

// uringSpliceOp is one IORING_OP_SPLICE or IORING_OP_TEE request: an
// offset of -1 (uringNoOffset) is no offset, as splice(2)'s NULL.
type uringSpliceOp struct {
	Op            uint8
	In, Out       int
	OffIn, OffOut uint64
	Len, Flags    uint32
}

// uring submits op on a one-entry ring of its own and returns the
// completion's result as a syscall's: the count, or the errno. A ring
// that cannot be set up (io_uring disabled by sysctl) fails the case's
// set-up, which is no observation.
func (t *T) uring(op uringSpliceOp) (int, error) {
	var p uringParams
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		panic(fatal{fmt.Errorf("io_uring_setup: %w", e)})
	}
	ring := t.Track(int(fd))
	mmap := func(off int64, n uint32) []byte {
		b, err := unix.Mmap(ring, off, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			panic(fatal{fmt.Errorf("io_uring mmap at %#x: %w", off, err)})
		}
		t.Cleanup(func() { unix.Munmap(b) })
		return b
	}
	sqSize := p.SQOff.Array + p.SQEntries*4
	cqSize := p.CQOff.CQEs + p.CQEntries*16
	if p.Features&uringFeatSingle != 0 && cqSize > sqSize {
		sqSize = cqSize
	}
	sq := mmap(uringOffSQRing, sqSize)
	cq := sq
	if p.Features&uringFeatSingle == 0 {
		cq = mmap(uringOffCQRing, cqSize)
	}
	sqes := mmap(uringOffSQEs, p.SQEntries*64)

	// The one SQE, as struct io_uring_sqe lays it out.
	s := sqes[:64]
	clear(s)
	le := binary.LittleEndian
	s[0] = op.Op
	le.PutUint32(s[4:], uint32(op.Out)) // fd: the output
	le.PutUint64(s[8:], op.OffOut)      // off
	le.PutUint64(s[16:], op.OffIn)      // splice_off_in
	le.PutUint32(s[24:], op.Len)        // len
	le.PutUint32(s[28:], op.Flags)      // splice_flags
	le.PutUint64(s[32:], 0x5ee)         // user_data
	le.PutUint32(s[44:], uint32(op.In)) // splice_fd_in
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	tail := u32(sq, p.SQOff.Tail)
	mask := *u32(sq, p.SQOff.RingMask)
	*u32(sq, p.SQOff.Array+(atomic.LoadUint32(tail)&mask)*4) = 0
	atomic.AddUint32(tail, 1)

	if _, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(ring), 1, 1, uringEnterWait, 0, 0); e != 0 {
		panic(fatal{fmt.Errorf("io_uring_enter: %w", e)})
	}
	head := u32(cq, p.CQOff.Head)
	if atomic.LoadUint32(u32(cq, p.CQOff.Tail)) == atomic.LoadUint32(head) {
		panic(fatal{fmt.Errorf("io_uring_enter returned with no completion")})
	}
	cqe := cq[p.CQOff.CQEs+(atomic.LoadUint32(head)&*u32(cq, p.CQOff.RingMask))*16:]
	res := int32(le.Uint32(cqe[8:]))
	atomic.AddUint32(head, 1)
	if res < 0 {
		return -1, unix.Errno(-res)
	}
	return int(res), nil
}
