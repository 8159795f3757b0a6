// Command patchtest-guest is the guest side of patchtest, packed into the
// initramfs as /init. As PID 1 it is init (package pid1); started again by
// init it is the SSH agent (package agent) that the host drives. It is
// package entry alone; the patchtest binary carries the same entry and is
// its own guest where no source is at hand.
package main

import "github.com/patchtest/patchtest/guest/entry"

func main() { entry.Main() }
