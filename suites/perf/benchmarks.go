package perf

const (
	kib = 1 << 10
	mib = 1 << 20
)

// Which level first runs a benchmark.
const (
	inQuick    = 1
	inStandard = 2
	inThorough = 3
)

// catalogue lists the benchmarks. Each family comes at several sizes;
// the quick level keeps one size per family so that it fits in a
// minute of guest time under TCG.
func catalogue() []*Benchmark {
	var bs []*Benchmark
	add := func(id, desc string, metrics []string, setup func(*env) (*op, error), sizes map[int]int) {
		for _, size := range sortedSizes(sizes) {
			bs = append(bs, &Benchmark{
				ID: id + "/" + sizeName(size), Desc: desc, Size: size,
				Metrics: metrics, level: sizes[size], setup: setup,
			})
		}
	}
	moving := []string{Throughput, CPUPerGiB}
	fileSizes := map[int]int{4 * kib: inThorough, 64 * kib: inStandard, 1 * mib: inQuick, 16 * mib: inStandard}
	pipeSizes := map[int]int{4 * kib: inStandard, 64 * kib: inQuick, 1 * mib: inThorough}

	add("sendfile/file-tcp", "sendfile(2) of a whole file (tmpfs, page cache warm) to a TCP loopback socket; a reader thread drains it",
		moving, fileToTCP(sendfileMode), fileSizes)
	add("splice/file-pipe-tcp", "splice(2) file -> pipe -> TCP loopback socket; a reader thread drains it",
		moving, fileToTCP(spliceMode), fileSizes)
	add("readwrite/file-tcp", "read(2) a file into a 128 KiB buffer and write(2) it to a TCP loopback socket: the baseline for sendfile and splice",
		moving, fileToTCP(readWriteMode), fileSizes)
	add("vmsplice/pipe-devnull", "vmsplice(2) a buffer into a pipe, splice(2) the pipe to /dev/null (stress-ng's vm-splice loop)",
		moving, pipeToNull(true), pipeSizes)
	add("write/pipe-devnull", "write(2) a buffer into a pipe, splice(2) the pipe to /dev/null: the baseline for vmsplice",
		moving, pipeToNull(false), pipeSizes)
	add("vmsplice/pipe-tcp", "vmsplice(2) a buffer into a pipe, splice(2) the pipe to a TCP loopback socket; a reader thread drains it",
		moving, pipeToTCP(true), pipeSizes)
	add("write/tcp", "write(2) a buffer to a TCP loopback socket: the baseline for vmsplice -> pipe -> socket",
		moving, pipeToTCP(false), pipeSizes)
	add("vmsplice/tee-fanout4", "vmsplice(2) a buffer into a pipe, tee(2) it to three more pipes, splice(2) all four to /dev/null (bytes count every copy delivered)",
		moving, teeFanout(4), map[int]int{64 * kib: inQuick, 4 * kib: inThorough})
	add("vmsplice/pingpong", "two threads bounce a buffer through two pipes, each side vmsplice(2)s it on and read(2)s it back: round-trip latency",
		[]string{NsPerOp, CPUPerGiB}, pingPong, map[int]int{4 * kib: inQuick, 64 * kib: inThorough})
	add("splice/zero-pipe-devnull", "splice(2) /dev/zero -> pipe -> /dev/null",
		moving, zeroToNull, map[int]int{64 * kib: inQuick, 1 * mib: inThorough})
	add("copy_file_range/file-file", "copy_file_range(2) a whole file onto another (tmpfs)",
		moving, fileToFile(true), map[int]int{1 * mib: inQuick, 16 * mib: inStandard})
	add("readwrite/file-file", "pread(2)/pwrite(2) a whole file onto another through a 128 KiB buffer (tmpfs): the baseline for copy_file_range",
		moving, fileToFile(false), map[int]int{1 * mib: inQuick, 16 * mib: inStandard})
	add(Calibration, "pread(2) a file (tmpfs, page cache warm) into a 128 KiB user buffer: exactly one CPU copy per byte, the unit of copies/B",
		moving, readOnce, map[int]int{1 * mib: inQuick})
	add("vmsplice/criu-dump", "CRIU-style dump: vmsplice(2) SPLICE_F_GIFT anonymous memory through a 1 MiB pipe and splice(2) it into a file; time per dump and the dumping process's peak RSS",
		[]string{NsPerOp, Throughput, CPUPerGiB, PeakRSS}, criuDump, map[int]int{16 * mib: inQuick, 64 * mib: inStandard})
	add("vmsplice/iovec8", "vmsplice(2) eight small iovecs (size/8 bytes each) per call, splice(2) them to /dev/null: call rate",
		[]string{CallsPerS, CPUPerGiB}, iovecRate(8), map[int]int{512: inQuick, 64: inStandard, 8 * kib: inThorough})
	return bs
}

func sortedSizes(m map[int]int) []int {
	var out []int
	for s := range m {
		out = append(out, s)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
