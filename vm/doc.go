// Package vm runs patchtest's guests under QEMU. A Machine is one guest:
// its command line is built from devices that each contribute their QEMU
// and kernel arguments (devices.go); Start boots it, verifying KVM and
// falling back to TCG (kvmpolicy.go); launch starts QEMU and waits for the
// agent's hello over SSH on a virtio-serial port (launch.go,
// handshake.go), raced against QEMU's exit and the panic detector; one
// monitoring loop reads the console, QEMU's stderr and QMP events
// (monitor.go, qmp.go) and records the first fault; a failure carries its
// evidence and a command line to reproduce it (failure.go, errors.go).
// Run and Shell drive commands through the agent (run.go). Every wait is
// bounded by a context, a deadline or the machine's death.
package vm
