package perf

import (
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// cpuClocks reads every process's CPU clock (all its threads, kernel
// threads included), so that two readings around a sample give what the
// whole machine did over it (busyBetween): the worker, the softirq work
// that ran in ksoftirqd or in a kworker rather than in the worker's
// context, and the interrupts that arrived while a task ran. The idle
// task has no process, so time spent idle, and what an interrupt did
// while the CPU idled, is not counted. Under the instruction clock a
// nanosecond is an instruction: this is the busy instructions of the
// vCPU. It returns false when /proc cannot be read.
func cpuClocks() (map[int]time.Duration, bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	m := make(map[int]time.Duration, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		m[pid] = processCPU(pid)
	}
	return m, true
}

// busyBetween is the CPU time the machine's processes spent between two
// readings: each live process's rise, a new one's whole time. A process
// that exited in between takes its time with it (the benchmarks start
// none), so the result is never below what the survivors did.
func busyBetween(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		if t0, ok := before[pid]; ok && t0 <= t {
			d += t - t0
		} else if !ok {
			d += t
		}
	}
	return d
}

// processCPU reads pid's process-wide CPU clock: the scheduler's exact
// runtime of all its threads, where /proc/PID/stat has clock ticks.
// A process gone since /proc was read counts nothing.
func processCPU(pid int) time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(processCPUClock(pid), &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// processCPUClock is the kernel's MAKE_PROCESS_CPUCLOCK(pid,
// CPUCLOCK_SCHED): clock IDs below zero name another process's CPU clock.
func processCPUClock(pid int) int32 {
	const cpuclockSched = 2
	return int32(^pid)<<3 | cpuclockSched
}
