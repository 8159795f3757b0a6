package initramfs

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/patchtest/patchtest/guest/proto"
)

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
