package fuzz

// Linux's values for the flags the operations take (x86-64).
const (
	spliceMove     = 0x1
	spliceNonblock = 0x2
	spliceMore     = 0x4
	spliceGift     = 0x8

	oRDONLY   = 0x0
	oWRONLY   = 0x1
	oRDWR     = 0x2
	oAPPEND   = 0x400
	oNONBLOCK = 0x800
	oDIRECT   = 0x4000

	rwfHIPRI  = 0x1
	rwfDSYNC  = 0x2
	rwfSYNC   = 0x4
	rwfNOWAIT = 0x8
	rwfAPPEND = 0x10

	sockStream    = 1
	sockDgram     = 2
	sockSeqpacket = 5

	efdSemaphore = 0x1
)

var (
	spliceFlags = []flagName{{"MOVE", spliceMove}, {"NONBLOCK", spliceNonblock}, {"MORE", spliceMore}, {"GIFT", spliceGift}}
	openFlags   = []flagName{{"O_WRONLY", oWRONLY}, {"O_RDWR", oRDWR}, {"O_APPEND", oAPPEND}, {"O_NONBLOCK", oNONBLOCK}, {"O_DIRECT", oDIRECT}}
	rwfFlags    = []flagName{{"RWF_HIPRI", rwfHIPRI}, {"RWF_DSYNC", rwfDSYNC}, {"RWF_SYNC", rwfSYNC}, {"RWF_NOWAIT", rwfNOWAIT}, {"RWF_APPEND", rwfAPPEND}}
	efdFlags    = []flagName{{"EFD_SEMAPHORE", efdSemaphore}, {"EFD_NONBLOCK", oNONBLOCK}}
)

// The values the generator draws arguments from: the ABI's edges.
var (
	// spliceLens are the lengths of splice, tee, sendfile and
	// copy_file_range, size_t's edges included (MAX_RW_COUNT, 2^31, -1).
	spliceLens = []int64{0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 131072, 1 << 20, 0x7ffff000, 1 << 31, -1, Held - 1, Held, Held + 1}
	// ioLens are the lengths of read and write, whose buffers the
	// program allocates.
	ioLens   = []int64{0, 1, 4095, 4096, 4097, 65536, 65537, 131072, 1 << 20}
	vecLens  = []int64{0, 1, 100, 4095, 4096, 4097, 8192, 65536, 65537, Held - 1, Held, Held + 1}
	offsets  = []int64{NoOff, 0, 1, 4095, 4096, 4097, 65536, 1 << 20, -1, 1 << 62, BadOff}
	sizes    = []int64{0, 1, 4095, 4096, 4097, 65536, 1 << 20}
	pipeSzs  = []int64{0, 1, 4096, 4097, 8192, 16384, 65536, 1 << 20, 1<<20 + 1, -1}
	pages    = []int64{1, 2, 16, 17}
	bufOffs  = []int64{0, 1, 100, 4095, 4096, 65535}
	niovs    = []int64{1, 2, 3, 17, 1024, 1025} // 1024 is IOV_MAX
	posArgs  = []int64{-1, -2, 0, 1, 4096, 65536}
	pokeVals = []int64{0, 0x5a, 0xff}
)

// Held, as a length, is what the call's source descriptor holds when the
// call is made (FIONREAD: a pipe's or socket's queued bytes, a file's
// bytes past its position, 0 where it says nothing); Held-1 and Held+1
// one byte less and one more. A buffer holding exactly one byte more or
// less than asked is where length clamps go wrong, and no fixed length
// meets it but by chance. The lengths list it last, so that a minimized
// program keeps a plain number where one still differs.
const Held int64 = 1 << 50

// MaxHeld bounds what a Held length resolves to, as the fixed lengths are
// bounded: FIONREAD of a sparse file, or a 32-bit count of a huge one,
// would otherwise have the executor allocate gigabytes for a readv.
const MaxHeld = 1<<20 + 1

// heldArgs gives, per operation that takes a length, the index of its
// length argument and of the descriptor whose contents Held means.
var heldArgs = map[string][2]int{
	"splice": {4, 0}, "tee": {2, 0}, "sendfile": {3, 1}, "copy_file_range": {4, 0},
	"vmsplice": {3, 0}, "readv": {1, 0}, "writev": {1, 0}, "preadv2": {1, 0}, "pwritev2": {1, 0},
}

// isHeld reports whether v is Held-1, Held or Held+1.
func isHeld(v int64) bool { return v >= Held-1 && v <= Held+1 }

func fd(name, want string) Arg       { return Arg{Name: name, Kind: Fd, Want: want} }
func newFd(name string) Arg          { return Arg{Name: name, Kind: NewFd} }
func buf(name string) Arg            { return Arg{Name: name, Kind: Buf} }
func val(name string, v []int64) Arg { return Arg{Name: name, Kind: Value, Values: v} }
func off(name string) Arg            { return Arg{Name: name, Kind: Off, Values: offsets} }
func flags(name string, v []int64, n []flagName) Arg {
	return Arg{Name: name, Kind: Flags, Values: v, Flags: n}
}

// specs are the operations a program may call. Creating operations
// (Makes set) fill descriptor slots; the rest use them.
var specs = map[string]Spec{
	"pipe2":      {Makes: "pipe", Args: []Arg{newFd("rd"), newFd("wr"), flags("flags", []int64{0, oNONBLOCK, oNONBLOCK, oDIRECT, oNONBLOCK | oDIRECT}, openFlags)}},
	"memfd":      {Makes: "file", Args: []Arg{newFd("fd"), val("size", sizes)}},
	"file":       {Makes: "file", Args: []Arg{newFd("fd"), val("size", sizes), flags("mode", []int64{oRDWR, oRDWR, oRDONLY, oWRONLY, oRDWR | oAPPEND}, openFlags)}},
	"socketpair": {Makes: "sock", Args: []Arg{newFd("a"), newFd("b"), val("type", []int64{sockStream, sockStream, sockDgram, sockSeqpacket}), flags("flags", []int64{0, oNONBLOCK, oNONBLOCK}, openFlags)}},
	"tcp":        {Makes: "sock", Args: []Arg{newFd("client"), newFd("server"), flags("flags", []int64{0, oNONBLOCK, oNONBLOCK}, openFlags)}},
	"eventfd":    {Makes: "event", Args: []Arg{newFd("fd"), flags("flags", []int64{0, oNONBLOCK, efdSemaphore | oNONBLOCK}, efdFlags)}},

	"mmap":   {Weight: 3, Args: []Arg{buf("buf"), val("pages", pages)}},
	"munmap": {Weight: 1, Args: []Arg{buf("buf")}},
	"mremap": {Weight: 1, Args: []Arg{buf("buf"), val("pages", pages)}},
	"poke":   {Weight: 3, Args: []Arg{buf("buf"), val("off", bufOffs), val("val", pokeVals)}},

	"write":    {Weight: 5, Args: []Arg{fd("fd", "out"), val("len", ioLens)}},
	"read":     {Weight: 6, Args: []Arg{fd("fd", "in"), val("len", ioLens)}},
	"writev":   {Weight: 2, Args: []Arg{fd("fd", "out"), val("len", vecLens), val("niov", niovs)}},
	"readv":    {Weight: 2, Args: []Arg{fd("fd", "in"), val("len", vecLens), val("niov", niovs)}},
	"pwritev2": {Weight: 2, Args: []Arg{fd("fd", "out"), val("len", vecLens), val("pos", posArgs), flags("flags", []int64{0, rwfNOWAIT, rwfNOWAIT, rwfHIPRI, rwfDSYNC, rwfAPPEND, 0x80}, rwfFlags)}},
	"preadv2":  {Weight: 2, Args: []Arg{fd("fd", "in"), val("len", vecLens), val("pos", posArgs), flags("flags", []int64{0, rwfNOWAIT, rwfNOWAIT, rwfHIPRI, 0x80}, rwfFlags)}},

	"splice":          {Weight: 10, Args: []Arg{fd("in", "in"), off("off_in"), fd("out", "out"), off("off_out"), val("len", spliceLens), flags("flags", []int64{0, spliceNonblock, spliceNonblock, spliceMove | spliceNonblock, spliceMore, spliceGift, 0x10, 0x80000000}, spliceFlags)}},
	"tee":             {Weight: 5, Args: []Arg{fd("in", "pipe-in"), fd("out", "pipe-out"), val("len", spliceLens), flags("flags", []int64{0, spliceNonblock, spliceNonblock, 0x10}, spliceFlags)}},
	"vmsplice":        {Weight: 10, Args: []Arg{fd("fd", "pipe"), buf("buf"), val("off", bufOffs), val("len", vecLens), val("niov", niovs), flags("flags", []int64{0, spliceNonblock, spliceNonblock, spliceGift, spliceGift | spliceNonblock, 0x10}, spliceFlags)}},
	"sendfile":        {Weight: 5, Args: []Arg{fd("out", "out"), fd("in", "file"), off("off"), val("len", spliceLens)}},
	"copy_file_range": {Weight: 4, Args: []Arg{fd("in", "file"), off("off_in"), fd("out", "file"), off("off_out"), val("len", spliceLens), flags("flags", []int64{0, 0, 1}, nil)}},

	"nonblock":  {Weight: 2, Args: []Arg{fd("fd", ""), val("on", []int64{0, 1})}},
	"setpipesz": {Weight: 2, Args: []Arg{fd("fd", "pipe"), val("size", pipeSzs)}},
	"getpipesz": {Weight: 1, Args: []Arg{fd("fd", "pipe")}},
	"close":     {Weight: 2, Args: []Arg{fd("fd", "")}},
	"fionread":  {Weight: 3, Args: []Arg{fd("fd", "in")}},
	"lseek":     {Weight: 2, Args: []Arg{fd("fd", "file"), val("off", []int64{0, 1, 4096, -1}), val("whence", []int64{0, 1, 2})}},
	"fsize":     {Weight: 2, Args: []Arg{fd("fd", "file")}},
}

// Ops lists the operations, creating ones first, each group sorted.
func Ops() []string {
	var makes, uses []string
	for name, s := range specs {
		if s.Makes != "" {
			makes = append(makes, name)
		} else {
			uses = append(uses, name)
		}
	}
	sortStrings(makes)
	sortStrings(uses)
	return append(makes, uses...)
}
