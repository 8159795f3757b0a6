package main

import (
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/guest/build"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
)

func newDoctor() *cobra.Command {
	var (
		cacheDir, qemu string
		recheck, fix   bool
	)
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check this host: QEMU, the KVM verdict, busybox, build tools; --fix installs what is missing",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			w := c.OutOrStdout()
			if recheck {
				if err := vm.ForgetKVMVerdict(cacheDir); err != nil {
					return err
				}
				fmt.Fprintln(w, "forgot the KVM verdict; the next boot with --accel auto tests KVM again")
			}
			// Everything patchtest may need: booting, and building the
			// default source.
			programs, libraries, apt := setup.ForSources([]string{kernels.DefaultSource}, cacheDir)
			plan := setup.Real.Check(c.Context(), append(setup.BootWith(qemu), programs...), libraries, apt)
			if fix {
				if err := setup.Ensure(c.Context(), plan, false, w); err != nil {
					return &exitError{code: vm.Infrastructure.ExitCode(), err: err}
				}
			} else if !plan.Empty() {
				fmt.Fprintf(w, "FAIL %-10s %s\n     %-10s fix: patchtest doctor --fix, or %s\n", "packages", plan, "", plan.Command())
			}
			failed := 0
			for _, ch := range append(vm.Doctor(c.Context(), cacheDir, qemu), guestChecks()...) {
				mark := "ok  "
				if !ch.OK {
					mark = "FAIL"
					if ch.Optional {
						mark = "warn"
					} else {
						failed++
					}
				}
				fmt.Fprintf(w, "%s %-10s %s\n", mark, ch.Name, ch.Detail)
				if !ch.OK && ch.Fix != "" {
					fmt.Fprintf(w, "     %-10s fix: %s\n", "", ch.Fix)
				}
			}
			if failed > 0 {
				return &exitError{code: vm.Infrastructure.ExitCode(), err: fmt.Errorf("%d required check(s) failed", failed)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&cacheDir, "cache-dir", vm.DefaultCacheDir(), "cache directory ($PATCHTEST_CACHE)")
	c.Flags().StringVar(&qemu, "qemu", "qemu-system-x86_64", "QEMU binary")
	c.Flags().BoolVar(&recheck, "recheck-kvm", false, "forget the KVM verdict so that the next boot tests KVM again")
	c.Flags().BoolVar(&fix, "fix", false, "install the missing host packages with apt-get (as root, or with password-less sudo)")
	return c
}

// guestChecks check what building the guest binary needs: Go and this
// repository.
func guestChecks() []vm.Check {
	var out []vm.Check
	if p, err := exec.LookPath("go"); err != nil {
		out = append(out, vm.Check{Name: "go", Detail: "no Go toolchain; the guest agent is built from source", Fix: "install Go 1.26 from go.dev/dl, or pass --guest-binary"})
	} else {
		out = append(out, vm.Check{Name: "go", OK: true, Detail: p})
	}
	if src, err := build.FindSource(); err != nil {
		out = append(out, vm.Check{Name: "source", Detail: err.Error(), Fix: "run patchtest from its repository or set PATCHTEST_SRC"})
	} else {
		out = append(out, vm.Check{Name: "source", OK: true, Detail: src})
	}
	return out
}
