// Package initramfs builds the guest's initramfs: newc cpio archives,
// written deterministically so that equal inputs give equal bytes. A boot's
// initramfs is a cached base archive (init, busybox, modules) followed by a
// small uncompressed archive with the boot's own files (its SSH keys); the
// kernel unpacks concatenated archives in order.
package initramfs

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
)

// File is one entry of an archive. A directory has Mode with fs.ModeDir,
// a symlink has Link set; anything else is a regular file holding Data.
type File struct {
	Path string // absolute path in the guest
	Mode fs.FileMode
	Data []byte
	Link string
}

// Write writes files as one newc archive, directories for every parent
// created first, entries in a stable order, all times zero.
func Write(w io.Writer, files []File) error {
	all := map[string]File{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)
		f.Path = p
		all[p] = f
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = File{Path: d, Mode: fs.ModeDir | 0o755}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names) // a parent sorts before its children
	cw := cpio.NewWriter(w)
	for _, n := range names {
		f := all[n]
		hdr := &cpio.Header{Name: strings.TrimPrefix(n, "/"), Mode: cpio.FileMode(f.Mode.Perm())}
		var body []byte
		switch {
		case f.Mode.IsDir():
			hdr.Mode |= cpio.TypeDir
		case f.Link != "":
			hdr.Mode |= cpio.TypeSymlink | 0o777
			body = []byte(f.Link)
		default:
			hdr.Mode |= cpio.TypeReg
			body = f.Data
		}
		hdr.Size = int64(len(body))
		if err := cw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("cpio %s: %w", n, err)
		}
		if _, err := cw.Write(body); err != nil {
			return fmt.Errorf("cpio %s: %w", n, err)
		}
	}
	return cw.Close()
}
