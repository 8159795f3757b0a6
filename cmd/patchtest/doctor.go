package main

import (
	"fmt"
	"os"
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

// guestChecks say which guest binary runs boot: the one built from this
// repository's source (a checkout and Go), or patchtest itself. Neither
// can fail: patchtest is always its own guest.
func guestChecks() []vm.Check {
	src, err := build.FindSource()
	if err != nil {
		exe, _ := os.Executable()
		return []vm.Check{{Name: "guest", OK: true, Detail: "patchtest is its own guest (" + exe + "); no checkout of patchtest here"}}
	}
	if _, err := exec.LookPath("go"); err != nil {
		return []vm.Check{{Name: "guest", OK: true, Detail: "patchtest is its own guest: a checkout at " + src + " but no Go toolchain to build its guest from"}}
	}
	return []vm.Check{{Name: "guest", OK: true, Detail: "built from the source at " + src}}
}
