package perf

import (
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// machineBusy returns the CPU time of every task the machine has, summed
// (each process's CPU clock, all its threads, kernel threads included),
// so that two readings around a sample give what the whole guest did
// over it: the worker, the softirq work that ran in ksoftirqd or in a
// kworker rather than in the worker's context, and the interrupts that
// arrived while a task ran. The idle task has no process, so time spent
// idle, and what an interrupt did while the CPU idled, is not counted.
// Under the instruction clock a nanosecond is an instruction: this is
// the busy instructions of the vCPU. A task that exits during the sample
// takes its time with it; the benchmarks start none. It returns false
// when /proc cannot be read.
func machineBusy() (time.Duration, bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var total time.Duration
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		total += processCPU(pid)
	}
	return total, true
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
