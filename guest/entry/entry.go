// Package entry is the guest program's entry point: init as PID 1, the
// agent it starts, and the commands the host runs in the guest (suites,
// perf, fuzz, gcov, sysrq). The guest binary built from source is only this;
// the patchtest binary is its own guest and enters here when it runs as
// the guest's /init (InGuest).
package entry

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/patchtest/patchtest/guest/agent"
	"github.com/patchtest/patchtest/guest/gcov"
	"github.com/patchtest/patchtest/guest/pid1"
	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/fuzz"
	"github.com/patchtest/patchtest/suites/perf"
)

// InGuest reports whether this process is the guest program: the kernel
// started it as /init (PID 1, argv[0] "/init", before /proc is mounted),
// or it runs from the guest's /init (the agent, and every command the
// agent starts). A container whose PID 1 is patchtest is neither.
func InGuest() bool {
	if os.Getpid() == 1 && len(os.Args) > 0 && os.Args[0] == proto.Init {
		return true
	}
	exe, err := os.Readlink("/proc/self/exe")
	return err == nil && exe == proto.Init
}

// Main runs the guest program this process is: init as PID 1, else the
// agent or one of the commands the host runs through it. It never
// returns.
func Main() {
	if os.Getpid() == 1 {
		pid1.Main() // never returns
	}
	if len(os.Args) > 2 && os.Args[1] == "suites" && os.Args[2] == "run" {
		os.Exit(runSuites(os.Args[3:]))
	}
	if len(os.Args) == 3 && os.Args[1] == "sysrq" {
		os.Exit(sysrq(os.Args[2]))
	}
	if len(os.Args) > 2 && os.Args[1] == "perf" {
		os.Exit(runPerf(os.Args[2:]))
	}
	if len(os.Args) > 2 && os.Args[1] == "fuzz" {
		os.Exit(runFuzz(os.Args[2:]))
	}
	if len(os.Args) > 2 && os.Args[1] == "gcov" {
		os.Exit(runGcov(os.Args[2], os.Args[3:]))
	}
	if os.Getenv(pid1.EnvRole) != pid1.RoleAgent {
		fmt.Fprintln(os.Stderr, "patchtest-guest runs inside a patchtest guest as /init; there is nothing to do here")
		os.Exit(2)
	}
	g := agent.GuestFromEnv()
	g.Uptime = func() int64 { return pid1.Boottime().Nanoseconds() }
	g.PowerOff = pid1.PowerOff
	if err := agent.Main(context.Background(), g); err != nil {
		fmt.Fprintf(os.Stderr, "patchtest-agent: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runSuites runs the cases matching patterns and writes the result
// stream to standard output. With --ack first, each start record waits
// for a line on standard input (the host's acknowledgement).
func runSuites(patterns []string) int {
	var acks io.Reader
	if len(patterns) > 0 && patterns[0] == "--ack" {
		patterns, acks = patterns[1:], os.Stdin
	}
	cases, err := suites.Catalogue().Select(patterns...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := suites.Run(os.Stdout, cases, acks); err != nil {
		fmt.Fprintf(os.Stderr, "suites: %v\n", err)
		return 1
	}
	return 0
}

// runPerf is `perf serve` (sample requests on standard input, samples on
// standard output, one worker process each) and `perf worker REQUEST`.
func runPerf(args []string) int {
	var err error
	switch {
	case args[0] == "serve":
		err = perf.Serve(context.Background(), "/proc/self/exe", os.Stdin, os.Stdout)
	case args[0] == "worker" && len(args) == 2:
		err = perf.Worker(args[1], os.Stdout)
	default:
		err = fmt.Errorf("usage: perf serve | perf worker REQUEST-JSON")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf: %v\n", err)
		return 1
	}
	return 0
}

// runFuzz is `fuzz serve` (programs on standard input, traces on
// standard output, one worker process each) and `fuzz worker` (one
// program on standard input).
func runFuzz(args []string) int {
	var err error
	switch args[0] {
	case "serve":
		err = fuzz.Serve(context.Background(), "/proc/self/exe", os.Stdin, os.Stdout)
	case "worker":
		err = fuzz.Worker(os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("usage: fuzz serve | fuzz worker")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fuzz: %v\n", err)
		return 1
	}
	return 0
}

// sysrq asks the kernel for magic SysRq actions, one key each (w: blocked
// tasks, l: backtraces of all CPUs); their output goes to the console.
// The tasks' dumps are printed at KERN_INFO, below the guest's console
// loglevel (5): the level is raised to 7 for them and put back after.
func sysrq(keys string) int {
	const printk = "/proc/sys/kernel/printk"
	if old, err := os.ReadFile(printk); err == nil {
		if f := strings.Fields(string(old)); len(f) > 0 {
			os.WriteFile(printk, []byte("7"), 0)
			defer os.WriteFile(printk, []byte(f[0]), 0)
		}
	}
	for _, k := range keys {
		if err := os.WriteFile("/proc/sysrq-trigger", []byte{byte(k)}, 0); err != nil {
			fmt.Fprintf(os.Stderr, "sysrq %c: %v\n", k, err)
			return 1
		}
	}
	return 0
}

// runGcov is `gcov reset` (zero a coverage kernel's counters) and `gcov
// dump [OBJECT.o...]` (their .gcda files as a tar stream on standard
// output).
func runGcov(cmd string, objects []string) int {
	var err error
	switch cmd {
	case "reset":
		err = gcov.Reset()
	case "dump":
		err = gcov.Dump(os.Stdout, objects)
	default:
		err = fmt.Errorf("usage: gcov reset | gcov dump [OBJECT.o...]")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gcov: %v\n", err)
		return 1
	}
	return 0
}
