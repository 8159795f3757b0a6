// Package initramfs builds the guest's initramfs: newc cpio archives,
// written deterministically so that equal inputs give equal bytes. A boot's
// initramfs is a cached base archive (init, busybox, modules) followed by a
// small uncompressed archive with the boot's own files (its SSH keys); the
// kernel unpacks concatenated archives in order.
package initramfs

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
	"github.com/google/renameio/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/patchtest/patchtest/guest/proto"
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

// Base is what goes into the cached part of the initramfs.
type Base struct {
	// Init is the guest binary; it becomes /init. A dynamically linked one
	// brings its loader and libraries (as Programs do).
	Init string
	// Busybox, when set, is a static busybox; it becomes /bin/busybox with
	// a link for each of its applets, so that a shell and the usual tools
	// exist in the guest.
	Busybox string
	// Modules are loaded by init in this order.
	Modules []Module
	// Programs are dynamically linked host executables (stress-ng, say)
	// copied to the same paths in the guest with the shared libraries
	// and loader ldd names for them.
	Programs []string
	// Trees are host directories copied whole into the guest.
	Trees []Tree
}

// Tree is a host directory and where it goes in the guest.
type Tree struct {
	Host  string `json:"host"`
	Guest string `json:"guest"`
}

// walk calls fn for each directory and regular file under t.Host, with
// its path in the guest.
func (t Tree) walk(fn func(guest, host string, info fs.FileInfo) error) error {
	err := filepath.WalkDir(t.Host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(t.Host, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() && !info.Mode().IsRegular() {
			return nil
		}
		return fn(path.Join(t.Guest, filepath.ToSlash(rel)), p, info)
	})
	if err != nil {
		return fmt.Errorf("tree %s: %w", t.Host, err)
	}
	return nil
}

// formatVersion changes whenever Base's layout changes, so that a cached
// archive is never reused for a different layout.
const formatVersion = "patchtest-initramfs-1"

// Files returns the archive entries for b.
func (b Base) Files() ([]File, error) {
	init, err := os.ReadFile(b.Init)
	if err != nil {
		return nil, fmt.Errorf("guest init: %w", err)
	}
	libs, err := initLibraries(b.Init)
	if err != nil {
		return nil, err
	}
	files := []File{
		{Path: "/init", Mode: 0o755, Data: init},
		{Path: "/etc/patchtest", Mode: fs.ModeDir | 0o755},
		{Path: "/root", Mode: fs.ModeDir | 0o700},
		{Path: "/dev", Mode: fs.ModeDir | 0o755},
		{Path: "/proc", Mode: fs.ModeDir | 0o755},
		{Path: "/sys", Mode: fs.ModeDir | 0o755},
		{Path: "/tmp", Mode: fs.ModeDir | 0o1777},
	}
	if b.Busybox != "" {
		bb, err := os.ReadFile(b.Busybox)
		if err != nil {
			return nil, fmt.Errorf("busybox: %w", err)
		}
		applets, err := Applets(b.Busybox)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: "/bin/busybox", Mode: 0o755, Data: bb})
		for _, a := range applets {
			if a == "busybox" || a == "init" || strings.ContainsAny(a, "/ ") {
				continue
			}
			files = append(files, File{Path: "/bin/" + a, Link: "busybox"})
		}
	}
	for _, d := range libs {
		data, err := os.ReadFile(d)
		if err != nil {
			return nil, fmt.Errorf("guest init: %w", err)
		}
		files = append(files, File{Path: d, Mode: 0o755, Data: data})
	}
	for _, p := range b.Programs {
		deps, err := programFiles(p)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			data, err := os.ReadFile(d)
			if err != nil {
				return nil, fmt.Errorf("program %s: %w", p, err)
			}
			files = append(files, File{Path: d, Mode: 0o755, Data: data})
		}
	}
	for _, t := range b.Trees {
		err := t.walk(func(guest, host string, info fs.FileInfo) error {
			if info.IsDir() {
				files = append(files, File{Path: guest, Mode: fs.ModeDir | 0o755})
				return nil
			}
			data, err := os.ReadFile(host)
			files = append(files, File{Path: guest, Mode: info.Mode().Perm(), Data: data})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if len(b.Modules) > 0 {
		var list strings.Builder
		for _, m := range b.Modules {
			p := "/lib/modules/" + m.Name + ".ko"
			files = append(files, File{Path: p, Mode: 0o644, Data: m.Image})
			list.WriteString(p + "\n")
		}
		files = append(files, File{Path: proto.ModulesListPath, Mode: 0o644, Data: []byte(list.String())})
	}
	return files, nil
}

// programFiles returns the executable p and every file its dynamic
// loader needs, as ldd lists them; a static executable is alone.
func programFiles(p string) ([]string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("program %s: %w", p, err)
	}
	if CheckStatic(abs) == nil {
		return []string{abs}, nil // a static executable needs nothing else
	}
	out, err := exec.Command("ldd", abs).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w (is it a dynamically linked executable?)", p, err)
	}
	files := []string{abs}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			files = append(files, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			files = append(files, f[0]) // the loader
		}
	}
	return files, nil
}

// initLibraries returns the loader and shared libraries a dynamically
// linked init needs (patchtest itself, built with cgo, as its own guest),
// at the paths they have on the host; a static init needs none.
func initLibraries(init string) ([]string, error) {
	if init == "" || !dynamic(init) {
		return nil, nil
	}
	deps, err := programFiles(init)
	if err != nil {
		return nil, fmt.Errorf("guest init: %w", err)
	}
	return deps[1:], nil
}

// Applets lists the applets of a busybox binary, as `busybox --list` says.
func Applets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets of %s: %w", busybox, err)
	}
	return strings.Fields(string(out)), nil
}

// CheckStatic returns an error unless path is a statically linked ELF
// executable, the only kind that runs in an initramfs without a libc.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the guest has no libc (install busybox-static)", path)
		}
	}
	return nil
}

// dynamic reports whether path is an ELF executable with a loader.
func dynamic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

// Key returns the cache key of b: a hash of every byte that goes into it.
func (b Base) Key() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", formatVersion)
	for _, p := range []string{b.Init, b.Busybox} {
		if p == "" {
			fmt.Fprintf(h, "-\n")
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("read %s: %w", p, err)
		}
		fmt.Fprintf(h, "\n%d\n", n)
	}
	for _, m := range b.Modules {
		fmt.Fprintf(h, "module %s %d\n", m.Name, len(m.Image))
		h.Write(m.Image)
	}
	libs, err := initLibraries(b.Init)
	if err != nil {
		return "", err
	}
	for _, d := range libs {
		st, err := os.Stat(d)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "init library %s %d %d\n", d, st.Size(), st.ModTime().UnixNano())
	}
	for _, p := range b.Programs {
		deps, err := programFiles(p)
		if err != nil {
			return "", err
		}
		for _, d := range deps {
			st, err := os.Stat(d)
			if err != nil {
				return "", err
			}
			// Path, size and time: rehashing 30 MB of libraries on
			// every boot would cost more than it saves.
			fmt.Fprintf(h, "program %s %d %d\n", d, st.Size(), st.ModTime().UnixNano())
		}
	}
	for _, t := range b.Trees {
		err := t.walk(func(guest, _ string, info fs.FileInfo) error {
			fmt.Fprintf(h, "tree %s %o %d %d\n", guest, info.Mode(), info.Size(), info.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// Compression is how the base archive is compressed. The kernel unpacks
// all three, but a kernel built without CONFIG_RD_GZIP or CONFIG_RD_ZSTD
// only takes the ones it has; None works everywhere.
type Compression string

// Compressions.
const (
	None Compression = "none"
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
)

// ParseCompression parses a compression name; empty means Default.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case "":
		return Default, nil
	case None, Gzip, Zstd:
		return c, nil
	}
	return "", fmt.Errorf("initramfs compression %q: want none, gzip or zstd", s)
}

// Default is the compression used unless one is asked for: zstd, which
// BenchmarkBootToReady measured fastest to boot under TCG (an emulated CPU
// inflates gzip slowly; zstd decodes several times faster; an uncompressed
// archive costs more to load than zstd costs to decode).
const Default = Zstd

func (c Compression) ext() string {
	switch c {
	case Gzip:
		return ".cpio.gz"
	case Zstd:
		return ".cpio.zst"
	}
	return ".cpio"
}

// Cached returns the path of b's archive compressed with c in dir,
// building it first unless an earlier build is there. The file is written
// atomically, so concurrent builders at worst do the work twice.
func Cached(dir string, b Base, c Compression) (string, bool, error) {
	key, err := b.Key()
	if err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	if c == "" {
		c = Default
	}
	out := filepath.Join(dir, key+c.ext())
	if _, err := os.Stat(out); err == nil {
		return out, true, nil
	}
	files, err := b.Files()
	if err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	var buf bytes.Buffer
	if err := Compress(&buf, files, c); err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	if err := renameio.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	return out, false, nil
}

// Compress writes files as one archive compressed with c, padded with
// zeros to a multiple of four bytes so that another archive may follow.
func Compress(w io.Writer, files []File, c Compression) error {
	cw := &countingWriter{w: w}
	var (
		zw  io.WriteCloser
		err error
	)
	switch c {
	case None:
	case Gzip:
		zw, err = gzip.NewWriterLevel(cw, gzip.BestSpeed)
	case Zstd:
		// The kernel's decoder wants a window it can allocate: stay at
		// the default level and a bounded window.
		zw, err = zstd.NewWriter(cw, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(1<<20), zstd.WithEncoderCRC(true))
	default:
		return fmt.Errorf("unknown compression %q", c)
	}
	if err != nil {
		return err
	}
	if zw == nil {
		err = Write(cw, files)
	} else {
		err = Write(zw, files)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if pad := (4 - cw.n%4) % 4; pad > 0 {
		_, err = cw.Write(make([]byte, pad))
	}
	return err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Assemble writes the boot's initramfs to out: the base archive followed by
// an uncompressed archive of extra.
func Assemble(out, base string, extra []File) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = func() error {
		in, err := os.Open(base)
		if err != nil {
			return err
		}
		defer in.Close()
		n, err := io.Copy(f, in)
		if err != nil {
			return err
		}
		if n%4 != 0 {
			return errors.New(base + ": archive not padded to four bytes")
		}
		return Write(f, extra)
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("assemble initramfs: %w", err)
	}
	return nil
}
