// Package patches carries the reference series that patchtest's built-in
// run configuration tests (vmsplice-wrapper, with its expect.yaml), so
// that an installed binary has it without a checkout of this repository.
package patches

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

//go:embed vmsplice-wrapper
var series embed.FS

// Dir is where the series sit relative to the repository's root, as the
// built-in configuration names them.
const Dir = "kernels/patches"

// Root writes the embedded series under cacheDir, once for each content,
// and returns a directory laid out as the repository is (Root/Dir/NAME),
// for the built-in configuration's relative paths to resolve against.
func Root(cacheDir string) (string, error) {
	h := sha256.New()
	var files []string
	err := fs.WalkDir(series, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := series.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		files = append(files, p)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("embedded series: %w", err)
	}
	root := filepath.Join(cacheDir, "series", hex.EncodeToString(h.Sum(nil))[:24])
	done := filepath.Join(root, ".complete")
	if _, err := os.Stat(done); err == nil {
		return root, nil
	}
	for _, p := range files {
		b, _ := series.ReadFile(p)
		dst := filepath.Join(root, filepath.FromSlash(path.Join(Dir, p)))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("write the embedded series: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", fmt.Errorf("write the embedded series: %w", err)
		}
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", fmt.Errorf("write the embedded series: %w", err)
	}
	return root, nil
}
