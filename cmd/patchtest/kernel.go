package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm"
)

func newKernel() *cobra.Command {
	var cacheDir string
	c := &cobra.Command{
		Use:   "kernel",
		Short: "Build, list and clean cached kernels",
	}
	c.PersistentFlags().StringVar(&cacheDir, "cache-dir", vm.DefaultCacheDir(), "cache directory ($PATCHTEST_CACHE)")
	builder := func(c *cobra.Command) *kernels.Builder {
		return &kernels.Builder{CacheDir: cacheDir, Progress: func(s string) {
			fmt.Fprintf(c.ErrOrStderr(), "patchtest: %s\n", s)
		}}
	}

	var (
		req    kernels.Request
		asJSON bool
		jobs   int
	)
	build := &cobra.Command{
		Use:   "build [--source debian:6.12] [--patches DIR|MBOX] [--fragment FRAG...]",
		Short: "Build a kernel (or find it in the cache) and print its bzImage path",
		Long: `build makes a bzImage from a source, an optional patch series and config
fragments, caches it by a hash of all of them and the compiler version,
and prints its path. Builds of one source share their objects, so a
patched kernel built after the stock one takes seconds to a minute.

Sources: debian:6.12 (Debian's linux-source-6.12 package), git:PATH[@REF],
a directory, or a tarball. Fragments: ` + strings.Join(configs.KernelFragments(), ", ") + ` (built in; guest
is always included) or paths of .config fragments.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			b := builder(c)
			b.Jobs = jobs
			bld, err := b.Build(c.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(bld)
			}
			if bld.Cached {
				fmt.Fprintf(c.ErrOrStderr(), "patchtest: cached build %s\n", bld.Key)
			}
			fmt.Fprintln(c.OutOrStdout(), bld.BzImage)
			return nil
		},
	}
	build.Flags().StringVar(&req.Source, "source", kernels.DefaultSource, "kernel source: debian:6.12, git:PATH[@REF], a directory or a tarball")
	build.Flags().StringVar(&req.Patches, "patches", "", "patch series: a directory of .patch files or an mbox")
	build.Flags().StringSliceVar(&req.Fragments, "fragment", nil, "extra config fragments (built-in names or paths), merged after guest")
	// --config, its first name, means a run's YAML everywhere else.
	build.Flags().StringSliceVar(&req.Fragments, "config", nil, "")
	build.Flags().MarkDeprecated("config", "use --fragment (--config names a run configuration in the other commands)")
	build.Flags().StringVar(&req.Base, "base", "tinyconfig", "config base: tinyconfig or defconfig")
	build.Flags().BoolVar(&asJSON, "json", false, "print the build record as JSON")
	build.Flags().IntVarP(&jobs, "jobs", "j", 0, "make -j (default: number of CPUs)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List cached kernels",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			builds, err := builder(c).List()
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(builds)
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KEY\tSOURCE\tPATCHES\tCONFIG\tBUILT\tBZIMAGE")
			for _, b := range builds {
				patches := "-"
				if len(b.Patches) > 0 {
					patches = fmt.Sprintf("%d from %s", len(b.Patches), b.Series)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Key, b.Source, patches,
					b.Base+"+"+strings.Join(b.Fragments, "+"), b.Built.Local().Format(time.DateTime), b.BzImage)
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the build records as JSON")

	var all bool
	clean := &cobra.Command{
		Use:   "clean [--all]",
		Short: "Remove cached kernels (--all: also source trees, build objects and downloads)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return builder(c).Clean(all)
		},
	}
	clean.Flags().BoolVar(&all, "all", false, "also remove source trees, build directories and downloads")

	c.AddCommand(build, list, clean)
	return c
}
