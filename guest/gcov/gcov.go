// Package gcov reads a coverage kernel's counters in the guest: it
// resets them before a case and writes the .gcda files of the object
// files asked for, as a tar stream, after it. The kernel serves them
// under debugfs (CONFIG_GCOV_KERNEL), at the path of the directory the
// objects were compiled in.
package gcov

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Root is where the kernel serves the counters.
const Root = "/sys/kernel/debug/gcov"

// mount mounts debugfs when the gcov tree is not there yet.
func mount() error {
	if _, err := os.Stat(Root); err == nil {
		return nil
	}
	err := unix.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount debugfs: %w", err)
	}
	if _, err := os.Stat(Root); err != nil {
		return fmt.Errorf("no %s: the kernel is not built with CONFIG_GCOV_KERNEL=y", Root)
	}
	return nil
}

// Reset zeroes every counter.
func Reset() error {
	if err := mount(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(Root, "reset"), []byte("1\n"), 0o200)
}

// Dump writes to w, as a tar stream, the .gcda file of every object
// below Root whose path relative to the object tree ends in one of
// objects ("fs/splice.o"), or of all objects when there are none. Names
// in the stream are the paths below Root.
func Dump(w io.Writer, objects []string) error {
	if err := mount(); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, o := range objects {
		want[strings.TrimSuffix(o, ".o")+".gcda"] = true
	}
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".gcda") {
			return err
		}
		rel := strings.TrimPrefix(p, Root+"/")
		if len(want) > 0 && !wanted(rel, want) {
			return nil
		}
		// debugfs gives no size: read the whole file first.
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("gcov dump: %w", err)
	}
	return tw.Close()
}

// wanted reports whether rel ends in a path of want.
func wanted(rel string, want map[string]bool) bool {
	for w := range want {
		if rel == w || strings.HasSuffix(rel, "/"+w) {
			return true
		}
	}
	return false
}
