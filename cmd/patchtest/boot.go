package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/initramfs"
	"github.com/patchtest/patchtest/vm/setup"
)

// bootFlags are the flags shared by boot and shell.
type bootFlags struct {
	opts      vm.BootOptions
	accel     string
	timings   bool
	verbose   bool
	info      string
	compress  string
	noInstall bool
}

func (f *bootFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.opts.Kernel, "kernel", "k", "", "bzImage to boot, or debian:6.12-amd64 / debian:6.1-cloud for a Debian package (required)")
	fs.StringVar(&f.opts.ModulesDir, "modules", "", "/lib/modules/VERSION tree to take the virtio modules from, for kernels that build them as modules")
	fs.StringVar(&f.accel, "accel", "auto", "accelerator: auto (verify KVM, fall back to TCG), kvm or tcg")
	fs.IntVar(&f.opts.CPUs, "cpus", 1, "guest CPUs")
	fs.IntVar(&f.opts.MemoryMiB, "mem", 512, "guest memory in MiB")
	fs.DurationVar(&f.opts.Timeout, "timeout", vm.DefaultTimeout, fmt.Sprintf("boot timeout under KVM (x%d under TCG)", vm.TCGScale))
	fs.StringVar(&f.opts.QEMU, "qemu", "qemu-system-x86_64", "QEMU binary")
	fs.StringVar(&f.opts.GuestBinary, "guest-binary", "", "prebuilt guest binary (default: built from the patchtest checkout patchtest runs in, else patchtest itself)")
	fs.StringVar(&f.opts.CacheDir, "cache-dir", vm.DefaultCacheDir(), "cache directory ($PATCHTEST_CACHE)")
	fs.StringVar(&f.opts.ConsoleLog, "console-log", "", "file to keep the serial console in (default: under the cache directory)")
	fs.StringSliceVar(&f.opts.KernelArgs, "append", nil, "extra kernel command-line arguments")
	fs.StringSliceVar(&f.opts.Programs, "program", nil, "host executable to copy into the guest at the same path, with its shared libraries (e.g. /usr/bin/stress-ng)")
	fs.StringVar(&f.compress, "initramfs-compression", string(initramfs.Default), "initramfs compression: zstd, gzip or none (the kernel must support it)")
	fs.BoolVar(&f.timings, "timings", false, "print boot timings")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print every machine event")
	fs.StringVar(&f.info, "info", "", "write the boot record (kernel, QEMU, accel, machine type, CPU model, timings) as JSON to this file")
	fs.BoolVar(&f.noInstall, "no-install", false, "never install missing host packages; name the command that would (also "+setup.NoInstallEnv+"=1)")
}

// prepare checks the flags, resolves the kernel and connects events to w.
func (f *bootFlags) prepare(ctx context.Context, w io.Writer) error {
	if f.opts.Kernel == "" {
		return &vm.Error{Outcome: vm.BadInput, Msg: "--kernel is required: pass a bzImage such as arch/x86/boot/bzImage, or debian:6.12-amd64"}
	}
	if err := setup.Ensure(ctx, setup.Real.Check(ctx, setup.BootWith(f.opts.QEMU), nil, nil), f.noInstall, w); err != nil {
		return &vm.Error{Outcome: vm.QEMUMissing, Msg: "host set-up", Err: err}
	}
	k, err := kernels.Resolve(ctx, f.opts.Kernel, f.opts.CacheDir)
	if err != nil {
		return &vm.Error{Outcome: vm.BadInput, Msg: "--kernel " + f.opts.Kernel, Err: err}
	}
	f.opts.Kernel = k.Kernel
	if f.opts.ModulesDir == "" {
		f.opts.ModulesDir = k.Modules
	}
	if err := f.guest(ctx); err != nil {
		return err
	}
	return f.prepareEvents(w)
}

// guest builds the guest binary from this repository, unless
// --guest-binary named one.
func (f *bootFlags) guest(ctx context.Context) error {
	if f.opts.GuestBinary != "" {
		return nil
	}
	agent, _, err := build.Agent(ctx, f.opts.CacheDir)
	if err != nil {
		return &vm.Error{Outcome: vm.Infrastructure, Msg: "guest binary", Err: err}
	}
	f.opts.GuestBinary = agent
	return nil
}

// prepareEvents checks the flags that do not name a kernel and connects
// the machine's events to w.
func (f *bootFlags) prepareEvents(w io.Writer) error {
	a, err := vm.ParseAccelerator(f.accel)
	if err != nil {
		return &vm.Error{Outcome: vm.BadInput, Msg: "--accel", Err: err}
	}
	f.opts.Accel = a
	c, err := initramfs.ParseCompression(f.compress)
	if err != nil {
		return &vm.Error{Outcome: vm.BadInput, Msg: "--initramfs-compression", Err: err}
	}
	f.opts.Compression = c
	f.opts.Events = func(ev vm.Event) {
		switch {
		case ev.Kind == vm.EventNotice:
			fmt.Fprintf(w, "patchtest: %s\n", ev.Msg)
		case ev.Kind == vm.EventReport:
			fmt.Fprintf(w, "patchtest: kernel report: %s\n", ev.Msg)
		case f.verbose:
			fmt.Fprintf(w, "patchtest: %s %s: %s\n", ev.Time.Format("15:04:05.000"), ev.Kind, ev.Msg)
		}
	}
	return nil
}

// ready prints what the user asked to see about a machine that came up.
func (f *bootFlags) ready(w io.Writer, m *vm.Machine) error {
	info := m.Info()
	if f.timings {
		h := info.Agent
		fmt.Fprintf(w, "patchtest: timings: prepare %v, boot-to-ready %v (guest: kernel to init %v, init to ready %v) [%s, %s, %s, QEMU %s]\n",
			info.Prepare.Round(time.Millisecond),
			info.Ready.Round(time.Millisecond),
			time.Duration(h.InitNS).Round(time.Millisecond),
			time.Duration(h.UptimeNS-h.InitNS).Round(time.Millisecond),
			info.Accel, info.MachineType, info.CPUModel, info.QEMU.Version)
		if len(h.Phases) > 0 {
			var b strings.Builder
			prev := int64(0)
			for _, p := range h.Phases {
				fmt.Fprintf(&b, " %s +%v", p.Name, time.Duration(p.NS-prev).Round(time.Millisecond))
				prev = p.NS
			}
			fmt.Fprintf(w, "patchtest: timings: guest phases:%s\n", b.String())
		}
	}
	for _, wmsg := range info.Agent.Warnings {
		fmt.Fprintf(w, "patchtest: guest init: %s\n", wmsg)
	}
	if f.info != "" {
		out, err := os.Create(f.info)
		if err != nil {
			return &vm.Error{Outcome: vm.BadInput, Msg: "--info", Err: err}
		}
		defer out.Close()
		return info.WriteJSON(out)
	}
	return nil
}

// boot prepares the flags, boots the guest and reports on it; the caller
// closes the machine.
func (f *bootFlags) boot(ctx context.Context, stderr io.Writer) (*vm.Machine, error) {
	if err := f.prepare(ctx, stderr); err != nil {
		return nil, err
	}
	m, err := vm.Boot(ctx, f.opts)
	if err != nil {
		return nil, err
	}
	if err := f.ready(stderr, m); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func newBoot() *cobra.Command {
	var f bootFlags
	c := &cobra.Command{
		Use:   "boot --kernel K [flags] -- CMD [ARG...]",
		Short: "Boot a kernel and run one command in it; exit with the command's status",
		Long: `boot starts a fresh guest on the kernel, runs CMD in it through the agent,
copies its output, powers the guest off and exits with CMD's exit status.
Failures that are not the command's have their own exit codes:
` + outcomeTable(),
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			stderr := c.ErrOrStderr()
			m, err := f.boot(c.Context(), stderr)
			if err != nil {
				return err
			}
			defer m.Close()
			code, err := m.Run(c.Context(), args, stdinOrNil(), c.OutOrStdout(), stderr)
			if err != nil {
				return err
			}
			if rs := m.Reports(); len(rs) > 0 && code == 0 {
				return &vm.Error{Outcome: vm.KernelReport, Msg: fmt.Sprintf("the command succeeded but the kernel printed %d report(s)", len(rs)), Reports: rs, ConsoleLog: m.Info().ConsoleLog}
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f.register(c.Flags())
	c.Flags().Var(clockFlag{&f.opts.Clock}, "clock", "what guest time counts under TCG: real, or icount (executed instructions, as perf measures)")
	c.Flags().SetInterspersed(false)
	return c
}

// clockFlag is a --clock flag parsed into a vm.Clock.
type clockFlag struct{ c *vm.Clock }

func (f clockFlag) String() string {
	if f.c == nil {
		return ""
	}
	return string(*f.c)
}

func (f clockFlag) Set(s string) error {
	c, err := vm.ParseClock(s)
	if err != nil {
		return err
	}
	*f.c = c
	return nil
}

func (clockFlag) Type() string { return "string" }

func newShell() *cobra.Command {
	var f bootFlags
	c := &cobra.Command{
		Use:   "shell --kernel K [flags]",
		Short: "Boot a kernel and open an interactive shell in it",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			stderr := c.ErrOrStderr()
			m, err := f.boot(c.Context(), stderr)
			if err != nil {
				return err
			}
			defer m.Close()
			fmt.Fprintf(stderr, "patchtest: shell on %s; exit the shell to power off\n", m.Info().Agent.Release)
			code, err := m.Shell(c.Context(), os.Stdin, c.OutOrStdout())
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f.register(c.Flags())
	return c
}

// stdinOrNil passes standard input to the guest command unless it is a
// terminal, which a non-interactive command would wait on forever.
func stdinOrNil() io.Reader {
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return nil
	}
	return os.Stdin
}

func outcomeTable() string {
	var b strings.Builder
	for _, o := range vm.Outcomes() {
		code := fmt.Sprint(o.ExitCode())
		if o == vm.CommandFailed {
			code = "the command's"
		}
		fmt.Fprintf(&b, "  %-28s %s\n", o.String(), code)
	}
	return b.String()
}
