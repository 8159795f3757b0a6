package initramfs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrModules marks a --modules tree that cannot serve the kernel; the
// message says what is wrong with it.
var ErrModules = errors.New("kernel modules")

// ModuleTree is a /lib/modules/VERSION directory: its modules, by name, and
// the names of the modules built into the kernel.
type ModuleTree struct {
	Dir     string
	Release string
	paths   map[string]string // module name → file
	builtin map[string]bool
}

// Module is one module ready to go into an initramfs: its name and its
// uncompressed ELF image.
type Module struct {
	Name  string
	Image []byte
}

// OpenModuleTree finds the module tree for release under dir. dir may be
// the tree itself (/lib/modules/6.1.0-56-cloud-amd64), a /lib/modules
// directory, or a root that holds lib/modules (an unpacked linux-image
// package). release may be empty when dir is the tree itself.
func OpenModuleTree(dir, release string) (*ModuleTree, error) {
	tree, err := findTree(dir, release)
	if err != nil {
		return nil, err
	}
	t := &ModuleTree{Dir: tree, Release: filepath.Base(tree), paths: map[string]string{}, builtin: map[string]bool{}}
	err = filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if name, ok := moduleName(d.Name()); ok {
			if _, dup := t.paths[name]; !dup {
				t.paths[name] = path
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrModules, tree, err)
	}
	if len(t.paths) == 0 {
		return nil, fmt.Errorf("%w: %s holds no .ko files; give the /lib/modules/VERSION directory of the kernel's package", ErrModules, tree)
	}
	if f, err := os.Open(filepath.Join(tree, "modules.builtin")); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if name, ok := moduleName(filepath.Base(strings.TrimSpace(s.Text()))); ok {
				t.builtin[name] = true
			}
		}
		f.Close()
	}
	return t, nil
}

func findTree(dir, release string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrModules, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%w: %s is not a directory; give a /lib/modules/VERSION directory", ErrModules, dir)
	}
	if isTree(dir) && (release == "" || filepath.Base(dir) == release) {
		return dir, nil
	}
	for _, base := range []string{dir, filepath.Join(dir, "lib/modules"), filepath.Join(dir, "usr/lib/modules")} {
		if release != "" && isTree(filepath.Join(base, release)) {
			return filepath.Join(base, release), nil
		}
	}
	if isTree(dir) {
		return "", fmt.Errorf("%w: %s holds modules for %s, but the kernel is %s; give the modules of the same build", ErrModules, dir, filepath.Base(dir), release)
	}
	var found []string
	for _, base := range []string{dir, filepath.Join(dir, "lib/modules"), filepath.Join(dir, "usr/lib/modules")} {
		ents, _ := os.ReadDir(base)
		for _, e := range ents {
			if e.IsDir() && isTree(filepath.Join(base, e.Name())) {
				found = append(found, e.Name())
			}
		}
	}
	if len(found) == 1 && release == "" {
		for _, base := range []string{dir, filepath.Join(dir, "lib/modules"), filepath.Join(dir, "usr/lib/modules")} {
			if isTree(filepath.Join(base, found[0])) {
				return filepath.Join(base, found[0]), nil
			}
		}
	}
	if len(found) > 0 {
		return "", fmt.Errorf("%w: %s has modules for %s, not for the kernel's release %s", ErrModules, dir, strings.Join(found, ", "), release)
	}
	return "", fmt.Errorf("%w: no module tree for %s under %s; give a /lib/modules/VERSION directory", ErrModules, release, dir)
}

// isTree reports whether dir looks like /lib/modules/VERSION.
func isTree(dir string) bool {
	for _, marker := range []string{"modules.order", "modules.builtin", "kernel"} {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return true
		}
	}
	return false
}

// moduleName returns the canonical name of a module file: its base name
// without .ko and compression suffixes, with '-' as '_' (as the kernel does).
func moduleName(file string) (string, bool) {
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(file, ext) {
			return canonical(strings.TrimSuffix(file, ext)), true
		}
	}
	return "", false
}

func canonical(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Has reports whether the tree has module name as a loadable module.
func (t *ModuleTree) Has(name string) bool { _, ok := t.paths[canonical(name)]; return ok }

// Resolve returns the modules needed to load want, dependencies first, in
// an order the kernel accepts. Built-in modules are skipped. A wanted module
// that is neither built in nor in the tree is an error, unless optional
// names it. Each module's vermagic must name the tree's release.
func (t *ModuleTree) Resolve(want, optional []string) ([]Module, error) {
	var (
		out   []Module
		state = map[string]int{} // 1 visiting, 2 done
	)
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		name = canonical(name)
		switch state[name] {
		case 1:
			return fmt.Errorf("%w: dependency cycle %s → %s", ErrModules, strings.Join(chain, " → "), name)
		case 2:
			return nil
		}
		if t.builtin[name] {
			state[name] = 2
			return nil
		}
		path, ok := t.paths[name]
		if !ok {
			return fmt.Errorf("%w: %s needs module %s, which %s neither has nor lists as built in", ErrModules, strings.Join(append(chain, name), " → "), name, t.Dir)
		}
		state[name] = 1
		image, err := readModule(path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrModules, err)
		}
		info, err := modinfo(image)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrModules, path, err)
		}
		if vm := strings.Fields(info["vermagic"]); len(vm) > 0 && vm[0] != t.Release {
			return fmt.Errorf("%w: %s was built for %s, not %s", ErrModules, path, vm[0], t.Release)
		}
		for _, dep := range strings.Split(info["depends"], ",") {
			if dep = strings.TrimSpace(dep); dep != "" {
				if err := visit(dep, append(chain, name)); err != nil {
					return err
				}
			}
		}
		state[name] = 2
		out = append(out, Module{Name: name, Image: image})
		return nil
	}
	for _, name := range want {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	for _, name := range optional {
		if !t.Has(name) {
			continue
		}
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readModule reads a module file and decompresses it: the guest's init
// loads modules with init_module, which takes a plain ELF image.
func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(path, ".xz"):
		xr, err := xz.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompress %s: %w", path, err)
		}
		r = xr
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompress %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(path, ".gz"):
		gr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompress %s: %w", path, err)
		}
		r = gr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// modinfo parses a module's .modinfo section: NUL-separated key=value pairs.
func modinfo(image []byte) (map[string]string, error) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return nil, fmt.Errorf("not a kernel module: %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, errors.New("not a kernel module: no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read .modinfo: %w", err)
	}
	info := map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if ok {
			if _, seen := info[k]; !seen {
				info[k] = v
			}
		}
	}
	return info, nil
}
