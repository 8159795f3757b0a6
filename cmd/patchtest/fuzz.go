package main

import (
	"time"

	"github.com/spf13/cobra"
)

func newFuzz() *cobra.Command {
	f := runFlags{fuzzOnly: true}
	c := &cobra.Command{
		Use:   "fuzz --kernel K [--baseline B] [--time D] [--seed S] [--out DIR]",
		Short: "Run the same generated programs on two kernels and report where their traces differ",
		Long: `fuzz boots the baseline and the candidate side by side (guest time
counting instructions) and runs the same small programs on both: pipes,
files, memfds, sockets and mapped buffers, and the calls splice, tee,
vmsplice, sendfile, copy_file_range, read/write, readv/writev,
preadv2/pwritev2, fcntl, close, mmap/munmap/mremap and writes into a
vmspliced buffer, with arguments at the ABI's edges, generated from
--seed. Each program runs in a process of its own and prints a trace:
every call's return value or errno, the checksum of the data it read,
the offsets it moved, the signals it raised (SIGPIPE, SIGIO, SIGXFSZ),
or "blocked" when it outlived its bound.

A difference in two traces is confirmed (each kernel gives its own trace
again; otherwise the program is flaky and never a finding), minimized to
the smallest program that still differs at the same call, and written as
a standalone C reproducer in the run folder's fuzz/ directory, which
prints the same trace (gcc -static; patchtest boot --program runs it).
Differences are changes like the catalogue's, with IDs
fuzz/CALL/SHAPE; expect.yaml declares them by ID glob and outcome glob:

  changes:
    - cases: "fuzz/read/*vmsplice*"
      from: "* data=*"
      to: "* data=*"
      why: vmsplice copies; a write into the buffer after it is not read

Programs in which a call met a new feature (the states of the
descriptors it was given, a peer closed or not, and its outcome) are
kept in a corpus under the cache directory, and the next run starts
from it. With a
candidate built with KCOV (--fragment kcov, a cold build of its own and a
slower kernel), a program that reaches a basic block or an edge in the
splice family's functions that no earlier one did is kept too.

Exit status as for patchtest run: 1 on an undeclared difference or a
candidate kernel lost under a program.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return execute(c, &f, false) },
	}
	fl := c.Flags()
	f.register(fl)
	fl.DurationVar(&f.fuzz, "time", 2*time.Minute, "how long to generate and run programs (confirming and minimizing come after)")
	fl.Uint64Var(&f.fuzzSeed, "seed", 1, "seed of the programs")
	return c
}
