package kernels

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GcovDir is the folder of a coverage build (CONFIG_GCOV_KERNEL=y) that
// holds what gcov needs beside the counters read from the guest: every
// .gcno file, at its path below the build's output directory, and the
// source each was compiled from (with the build's series applied) at
// the same relative path. A build keeps them because the shared output
// directory and source tree change with the next build.
const GcovDir = "gcov"

// gcovObjTreeFile, in GcovDir, names where the build's objects were
// compiled (the directory the guest's /sys/kernel/debug/gcov mirrors) and
// the source tree they were compiled from.
const gcovObjTreeFile = "objtree"

// isGcov reports whether the .config at path enables gcov.
func isGcov(config string) bool {
	b, err := os.ReadFile(config)
	return err == nil && bytes.Contains(b, []byte("\nCONFIG_GCOV_KERNEL=y\n"))
}

// storeGcov copies the .gcno files under out and their sources under
// src into dst (see GcovDir), and records out as the object tree.
func storeGcov(out, src, dst string) error {
	n := 0
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".gcno") {
			return err
		}
		rel, err := filepath.Rel(out, p)
		if err != nil {
			return err
		}
		if err := copyInto(filepath.Join(dst, rel), p); err != nil {
			return err
		}
		n++
		// The source: the same path below the source tree, .c (or .S),
		// or below the output directory for a generated one.
		for _, tree := range []string{src, out} {
			for _, ext := range []string{".c", ".S"} {
				s := strings.TrimSuffix(rel, ".gcno") + ext
				if _, err := os.Stat(filepath.Join(tree, s)); err == nil {
					return copyInto(filepath.Join(dst, s), filepath.Join(tree, s))
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keep the coverage notes: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("keep the coverage notes: CONFIG_GCOV_KERNEL=y but no .gcno under %s", out)
	}
	return os.WriteFile(filepath.Join(dst, gcovObjTreeFile), []byte(out+"\n"+src+"\n"), 0o644)
}

// copyInto copies src to dst, making dst's directory.
func copyInto(dst, src string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copyFile(dst, src)
}

// GcovTrees returns, for a coverage build, the directory its objects
// were compiled in (as the guest's gcov tree names them) and the source
// tree they were compiled from (as the .gcno files name the sources).
func GcovTrees(bld *Build) (obj, src string, err error) {
	b, err := os.ReadFile(filepath.Join(bld.Dir, GcovDir, gcovObjTreeFile))
	if err != nil {
		return "", "", fmt.Errorf("%s is not a coverage build (its config has no CONFIG_GCOV_KERNEL=y): %w", bld.BzImage, err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", "", fmt.Errorf("%s: bad %s", bld.Dir, gcovObjTreeFile)
	}
	return f[0], f[1], nil
}
