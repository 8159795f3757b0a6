package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print patchtest's module version and how it was built",
		Long: `version prints the module version patchtest was built as (a tag or
pseudo-version with go install ...@version, "(devel)" from a checkout),
then the Go version, the VCS revision and whether the tree was modified,
and the build settings, as runtime/debug reads them from the binary.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			info, ok := debug.ReadBuildInfo()
			if !ok {
				return fmt.Errorf("this binary carries no build information")
			}
			writeVersion(c.OutOrStdout(), info)
			return nil
		},
	}
}

// writeVersion prints info: the module's path and version on the first
// line, then one "key value" line for the Go version and each build
// setting worth knowing.
func writeVersion(w io.Writer, info *debug.BuildInfo) {
	fmt.Fprintf(w, "patchtest %s (%s)\n", info.Main.Version, info.Main.Path)
	fmt.Fprintf(w, "go %s\n", info.GoVersion)
	for _, s := range info.Settings {
		switch {
		case strings.HasPrefix(s.Key, "vcs."), s.Key == "CGO_ENABLED", s.Key == "GOOS", s.Key == "GOARCH", s.Key == "GOAMD64", s.Key == "-ldflags", s.Key == "-tags", s.Key == "-trimpath":
			fmt.Fprintf(w, "%s %s\n", s.Key, s.Value)
		}
	}
}
