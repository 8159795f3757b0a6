package initramfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/patchtest/patchtest/vm/setup"
)

// fakeModule returns a minimal ELF64 relocatable object whose only
// content is a .modinfo section holding the given key=value pairs.
func fakeModule(info ...string) []byte {
	modinfo := []byte(strings.Join(info, "\x00") + "\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	modOff := ehsize
	strOff := modOff + len(modinfo)
	shOff := (strOff + len(shstr) + 7) &^ 7
	buf := make([]byte, shOff+3*shentsize)
	copy(buf, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le := binary.LittleEndian
	le.PutUint16(buf[16:], 1)  // ET_REL
	le.PutUint16(buf[18:], 62) // EM_X86_64
	le.PutUint32(buf[20:], 1)
	le.PutUint64(buf[40:], uint64(shOff))
	le.PutUint16(buf[52:], ehsize)
	le.PutUint16(buf[58:], shentsize)
	le.PutUint16(buf[60:], 3) // sections
	le.PutUint16(buf[62:], 2) // .shstrtab index
	copy(buf[modOff:], modinfo)
	copy(buf[strOff:], shstr)
	sh := func(i int, name, typ uint32, off, size int) {
		b := buf[shOff+i*shentsize:]
		le.PutUint32(b[0:], name)
		le.PutUint32(b[4:], typ)
		le.PutUint64(b[24:], uint64(off))
		le.PutUint64(b[32:], uint64(size))
		le.PutUint64(b[48:], 1)
	}
	sh(1, 1, 1, modOff, len(modinfo)) // PROGBITS .modinfo
	sh(2, 10, 3, strOff, len(shstr))  // STRTAB .shstrtab
	return buf
}

// writeTree makes a /lib/modules/REL tree under root with the given
// modules (relative path → ELF image) and builtin list.
func writeTree(t *testing.T, root, rel string, mods map[string][]byte, builtin ...string) string {
	t.Helper()
	tree := filepath.Join(root, "lib", "modules", rel)
	for p, img := range mods {
		full := filepath.Join(tree, "kernel", p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, ".xz") {
			var b bytes.Buffer
			w, _ := xz.NewWriter(&b)
			w.Write(img)
			w.Close()
			img = b.Bytes()
		}
		if err := os.WriteFile(full, img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var bl strings.Builder
	for _, b := range builtin {
		bl.WriteString("kernel/" + b + ".ko\n")
	}
	if err := os.WriteFile(filepath.Join(tree, "modules.builtin"), []byte(bl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return tree
}

const rel = "6.1.0-test-amd64"

func vermagic(r string) string { return "vermagic=" + r + " SMP mod_unload " }

func TestResolve(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, rel, map[string][]byte{
		"drivers/a.ko":           fakeModule("depends=b,virtio-ring", vermagic(rel)),
		"drivers/b.ko.xz":        fakeModule("depends=virtio_ring", vermagic(rel)),
		"drivers/virtio_ring.ko": fakeModule("depends=", vermagic(rel)),
		"drivers/needs_x.ko":     fakeModule("depends=x", vermagic(rel)),
		"drivers/cyc1.ko":        fakeModule("depends=cyc2", vermagic(rel)),
		"drivers/cyc2.ko":        fakeModule("depends=cyc1", vermagic(rel)),
		"drivers/old.ko":         fakeModule("depends=", vermagic("5.10.0-1-amd64")),
		"drivers/uses_bi.ko":     fakeModule("depends=bi", vermagic(rel)),
	}, "drivers/bi")
	for _, dir := range []string{root, filepath.Join(root, "lib", "modules"), filepath.Join(root, "lib", "modules", rel)} {
		if _, err := OpenModuleTree(dir, rel); err != nil {
			t.Errorf("OpenModuleTree(%s): %v", dir, err)
		}
	}
	tree, err := OpenModuleTree(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		want, opt []string
		order     []string
		errSubstr string
	}{
		{"dependencies first", []string{"a"}, nil, []string{"virtio_ring", "b", "a"}, ""},
		{"shared dependency once", []string{"b", "a"}, nil, []string{"virtio_ring", "b", "a"}, ""},
		{"builtin skipped", []string{"bi", "uses_bi"}, nil, []string{"uses_bi"}, ""},
		{"optional absent", []string{"b"}, []string{"nope"}, []string{"virtio_ring", "b"}, ""},
		{"optional present", nil, []string{"b"}, []string{"virtio_ring", "b"}, ""},
		{"missing module", []string{"nope"}, nil, nil, "needs module nope"},
		{"missing dependency", []string{"needs_x"}, nil, nil, "needs_x → x"},
		{"cycle", []string{"cyc1"}, nil, nil, "cycle"},
		{"vermagic", []string{"old"}, nil, nil, "built for 5.10.0-1-amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mods, err := tree.Resolve(tc.want, tc.opt)
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) || !errors.Is(err, ErrModules) {
					t.Fatalf("err = %v; want one containing %q", err, tc.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range mods {
				names = append(names, m.Name)
				if _, err := modinfo(m.Image); err != nil {
					t.Errorf("%s: image is not plain ELF: %v", m.Name, err)
				}
			}
			if !slices.Equal(names, tc.order) {
				t.Errorf("order %q; want %q", names, tc.order)
			}
		})
	}
}

func TestOpenModuleTreeErrors(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, rel, map[string][]byte{"a.ko": fakeModule(vermagic(rel))})
	for _, tc := range []struct{ dir, release, want string }{
		{filepath.Join(root, "nope"), rel, "no such file"},
		{root, "6.12.0-other", "not for the kernel's release 6.12.0-other"},
		{filepath.Join(root, "lib/modules", rel), "6.12.0-other", "holds modules for " + rel},
		{t.TempDir(), rel, "no module tree"},
	} {
		_, err := OpenModuleTree(tc.dir, tc.release)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenModuleTree(%s, %s) = %v; want %q", tc.dir, tc.release, err, tc.want)
		}
	}
}

func readArchive(t *testing.T, r io.Reader) map[string]*cpio.Header {
	t.Helper()
	cr := cpio.NewReader(r)
	out := map[string]*cpio.Header{}
	for {
		h, err := cr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(cr); h.Mode&cpio.TypeSymlink == cpio.TypeSymlink && h.Linkname == "" {
			h.Linkname = string(b)
		}
		out[h.Name] = h
	}
}

func TestWrite(t *testing.T) {
	files := []File{
		{Path: "/bin/sh", Link: "busybox"},
		{Path: "/etc/patchtest/key", Mode: 0o600, Data: []byte("secret")},
		{Path: "/init", Mode: 0o755, Data: []byte("\x7fELF")},
	}
	var a, b bytes.Buffer
	if err := Write(&a, files); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(files)
	if err := Write(&b, files); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("archive depends on the order of its inputs")
	}
	got := readArchive(t, &a)
	for name, check := range map[string]func(h *cpio.Header) bool{
		"bin":               func(h *cpio.Header) bool { return h.Mode&cpio.TypeDir == cpio.TypeDir },
		"etc/patchtest":     func(h *cpio.Header) bool { return h.Mode&cpio.TypeDir == cpio.TypeDir },
		"bin/sh":            func(h *cpio.Header) bool { return h.Linkname == "busybox" },
		"etc/patchtest/key": func(h *cpio.Header) bool { return h.Mode.Perm() == 0o600 && h.Size == 6 },
		"init":              func(h *cpio.Header) bool { return h.Mode.Perm() == 0o755 && h.ModTime.Unix() == 0 },
	} {
		h, ok := got[name]
		if !ok {
			t.Errorf("%s missing from archive", name)
		} else if !check(h) {
			t.Errorf("%s: wrong header %+v", name, h)
		}
	}
}

func TestCachedAndAssemble(t *testing.T) {
	dir := t.TempDir()
	init := filepath.Join(dir, "init")
	if err := os.WriteFile(init, []byte("pretend init"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := Base{Init: init, Modules: []Module{{Name: "virtio_console", Image: fakeModule()}}}
	cache := filepath.Join(dir, "cache")
	p1, cached, err := Cached(cache, base, Gzip)
	if err != nil || cached {
		t.Fatalf("first Cached = %v, %v", cached, err)
	}
	p2, cached, err := Cached(cache, base, Gzip)
	if err != nil || !cached || p2 != p1 {
		t.Fatalf("second Cached = %s, %v, %v; want the first archive", p2, cached, err)
	}
	base.Modules[0].Image = fakeModule("changed=1")
	if p3, _, _ := Cached(cache, base, Gzip); p3 == p1 {
		t.Error("a changed module reused the cached archive")
	}

	out := filepath.Join(dir, "boot.cpio")
	if err := Assemble(out, p1, []File{{Path: "/etc/patchtest/ssh_host_key", Mode: 0o600, Data: []byte("k")}}); err != nil {
		t.Fatal(err)
	}
	whole, _ := os.ReadFile(out)
	first, _ := os.ReadFile(p1)
	if len(first)%4 != 0 || !bytes.HasPrefix(whole, first) {
		t.Fatalf("boot archive does not start with the 4-byte-padded base (%d bytes)", len(first))
	}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	inBase := readArchive(t, zr)
	for _, n := range []string{"init", "lib/modules/virtio_console.ko", "etc/patchtest/modules"} {
		if _, ok := inBase[n]; !ok {
			t.Errorf("base lacks %s", n)
		}
	}
	extra := readArchive(t, bytes.NewReader(whole[len(first):]))
	if h, ok := extra["etc/patchtest/ssh_host_key"]; !ok || h.Mode.Perm() != 0o600 {
		t.Errorf("appended archive lacks the key: %v", extra)
	}
}

func TestBaseWithBusybox(t *testing.T) {
	if _, err := setup.Program(t.Context(), setup.Need{Program: "busybox", Package: "busybox-static", Why: "a static busybox for the guests"}, false, os.Stderr); err != nil {
		t.Fatal(err)
	}
	bb := "/bin/busybox"
	if err := CheckStatic(bb); err != nil {
		t.Fatalf("busybox-static is installed, /bin/busybox is not static: %v", err)
	}
	files, err := Base{Init: bb, Busybox: bb}.Files()
	if err != nil {
		t.Fatal(err)
	}
	var sh, ls bool
	for _, f := range files {
		sh = sh || (f.Path == "/bin/sh" && f.Link == "busybox")
		ls = ls || (f.Path == "/bin/ls" && f.Link == "busybox")
		if f.Path == "/bin/init" {
			t.Error("busybox's init applet would shadow nothing but confuse; it must be left out")
		}
	}
	if !sh || !ls {
		t.Error("busybox applet links missing")
	}
}

func TestCheckStatic(t *testing.T) {
	if err := CheckStatic("/bin/true"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("CheckStatic(/bin/true) = %v; want dynamically linked", err)
	}
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("#!/bin/sh\n"), fs.FileMode(0o755))
	if err := CheckStatic(p); err == nil {
		t.Error("a script passed CheckStatic")
	}
}

// A dynamically linked host program comes with its loader and libraries.
func TestBaseProgramsBringTheirLibraries(t *testing.T) {
	ls, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls")
	}
	if CheckStatic(ls) == nil {
		t.Skip("ls is static here")
	}
	init := filepath.Join(t.TempDir(), "init")
	os.WriteFile(init, []byte("init"), 0o755)
	b := Base{Init: init, Programs: []string{ls}}
	files, err := b.Files()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f.Path] = true
	}
	abs, _ := filepath.Abs(ls)
	if !have[abs] {
		t.Errorf("%s not in the archive", abs)
	}
	libc, loader := false, false
	for p := range have {
		libc = libc || strings.Contains(p, "libc.so")
		loader = loader || strings.Contains(p, "ld-linux")
	}
	if !libc || !loader {
		t.Errorf("libc %v, loader %v in %v", libc, loader, have)
	}
	k1, _ := Base{Init: init}.Key()
	k2, err := b.Key()
	if err != nil || k1 == k2 {
		t.Errorf("key with a program %q (%v), without %q", k2, err, k1)
	}
	if _, err := (Base{Init: init, Programs: []string{"/no/such/prog"}}).Files(); err == nil || !strings.Contains(err.Error(), "/no/such/prog") {
		t.Errorf("missing program: %v", err)
	}
}

// A dynamically linked init (patchtest as its own guest) is /init with
// its loader and libraries beside it, and they are in the key.
func TestBaseDynamicInitBringsItsLibraries(t *testing.T) {
	ls, err := exec.LookPath("ls")
	if err != nil || CheckStatic(ls) == nil {
		t.Skip("no dynamically linked ls here")
	}
	files, err := Base{Init: ls}.Files()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f.Path] = true
	}
	libc, loader := false, false
	for p := range have {
		libc = libc || strings.Contains(p, "libc.so")
		loader = loader || strings.Contains(p, "ld-linux")
	}
	if !have["/init"] || !libc || !loader {
		t.Errorf("/init %v, libc %v, loader %v in %v", have["/init"], libc, loader, have)
	}
	static := filepath.Join(t.TempDir(), "init")
	os.WriteFile(static, []byte("init"), 0o755)
	k1, _ := Base{Init: static}.Key()
	k2, err := Base{Init: ls}.Key()
	if err != nil || k1 == k2 {
		t.Errorf("keys %q and %q (%v)", k1, k2, err)
	}
}
