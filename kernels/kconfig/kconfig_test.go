package kconfig

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

const sampleConfig = `#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.12.117 Kernel Configuration
#
CONFIG_64BIT=y
CONFIG_PRINTK=y
# CONFIG_BUG is not set
CONFIG_KALLSYMS=y
CONFIG_VIRTIO_CONSOLE=m
CONFIG_VIRTIO_PCI=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_BINFMT_ELF=y
CONFIG_DEVTMPFS=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_FUTEX=y
CONFIG_EPOLL=y
CONFIG_TTY=y
CONFIG_DEFAULT_HUNG_TASK_TIMEOUT=5
CONFIG_LOCALVERSION=""
`

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestParse(t *testing.T) {
	c, err := Parse(strings.NewReader(sampleConfig), "x")
	if err != nil {
		t.Fatal(err)
	}
	for opt, want := range map[string]string{"CONFIG_PRINTK": "y", "CONFIG_BUG": "", "CONFIG_VIRTIO_CONSOLE": "m", "CONFIG_DEFAULT_HUNG_TASK_TIMEOUT": "5", "CONFIG_LOCALVERSION": `""`} {
		if got := c.Value(opt); got != want {
			t.Errorf("%s = %q, want %q", opt, got, want)
		}
	}
	if !c.Enabled("CONFIG_VIRTIO_CONSOLE") || c.Enabled("CONFIG_BUG") {
		t.Error("Enabled wrong")
	}
	for _, bad := range []string{"", "# only comments\n", "hello world\n", "FOO=y\n"} {
		if _, err := Parse(strings.NewReader(bad), "bad"); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

// The configuration is found beside an image in the places kernels keep
// it, and inside it when CONFIG_IKCONFIG embedded it.
func TestConfigFor(t *testing.T) {
	dir := t.TempDir()
	write := func(p string, b []byte) string {
		p = filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noise := bytes.Repeat([]byte("kernel text "), 1<<17) // > 1 MiB
	embedded := append(append(append([]byte("junk"), noise...), "IKCFG_ST"...), gz(t, []byte(sampleConfig))...)
	embedded = append(embedded, "IKCFG_ED"...)
	var zst bytes.Buffer
	zw, _ := zstd.NewWriter(&zst)
	zw.Write(embedded)
	zw.Close()
	tests := []struct {
		name, image, build string
		from               string // suffix of From; "" for none found
	}{
		{"build record", write("b/bzImage", []byte("x")), write("b/rec.config", []byte(sampleConfig)), "rec.config"},
		{"boot directory", write("boot/vmlinuz-6.12.0-1-amd64", []byte("x")), "", "config-6.12.0-1-amd64"},
		{"cache directory", write("c/bzImage", []byte("x")), "", "c/config"},
		{"kernel tree", write("tree/arch/x86/boot/bzImage", []byte("x")), "", "tree/.config"},
		{"IKCONFIG in a gzip payload", write("g/bzImage", append([]byte("MZ setup code"), gz(t, embedded)...)), "", "(embedded, IKCONFIG)"},
		{"IKCONFIG in a zstd payload", write("z/bzImage", append([]byte("MZ setup code"), zst.Bytes()...)), "", "(embedded, IKCONFIG)"},
		{"IKCONFIG in a vmlinux", write("v/vmlinux", embedded), "", "(embedded, IKCONFIG)"},
		{"nothing", write("n/bzImage", append([]byte("MZ"), gz(t, noise)...)), "", ""},
	}
	write("boot/config-6.12.0-1-amd64", []byte(sampleConfig))
	write("c/config", []byte(sampleConfig))
	write("tree/.config", []byte(sampleConfig))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFor(tc.image, tc.build)
			if err != nil {
				t.Fatal(err)
			}
			if tc.from == "" {
				if c != nil {
					t.Fatalf("found %s", c.From)
				}
				return
			}
			if c == nil || !strings.HasSuffix(c.From, tc.from) {
				t.Fatalf("config %+v, want from ...%s", c, tc.from)
			}
			if c.Value("CONFIG_VIRTIO_CONSOLE") != "m" {
				t.Errorf("options %v", c.Options)
			}
		})
	}
}

func TestAssess(t *testing.T) {
	c, _ := Parse(strings.NewReader(sampleConfig), "x")
	if _, err := Assess(c, false, "K"); err == nil || !strings.Contains(err.Error(), "CONFIG_VIRTIO_CONSOLE built as modules and no module tree") {
		t.Errorf("no modules: %v", err)
	}
	caps, err := Assess(c, true, "K")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"CONFIG_BUG": true, "CONFIG_DETECT_HUNG_TASK": true, "CONFIG_SOFTLOCKUP_DETECTOR": true, "CONFIG_MAGIC_SYSRQ": true, "CONFIG_PVPANIC": true}
	for _, l := range caps.Limits {
		if !want[l.Option] {
			t.Errorf("unexpected limit %s", l)
		}
		delete(want, l.Option)
	}
	if len(want) > 0 || !caps.Lacks("CONFIG_BUG") || caps.Lacks("CONFIG_KALLSYMS") {
		t.Errorf("limits %v; missing %v", caps.Limits, want)
	}
	// Every missing option is named at once, with the fragment.
	delete(c.Options, "CONFIG_VIRTIO_CONSOLE")
	delete(c.Options, "CONFIG_DEVTMPFS")
	if _, err := Assess(c, true, "K"); err == nil || !strings.Contains(err.Error(), "CONFIG_DEVTMPFS, CONFIG_VIRTIO_CONSOLE not set") || !strings.Contains(err.Error(), "guest.config") {
		t.Errorf("no VIRTIO_CONSOLE, no DEVTMPFS: %v", err)
	}
	if caps, err := Assess(nil, false, "K"); err != nil || !caps.Unknown() || len(caps.Limits) != 1 {
		t.Errorf("unknown config: %+v, %v", caps, err)
	}
}

// Each of the options the agent needs, written out here rather than taken
// from the list under test, refuses the kernel alone and is named; all of
// them missing are all named.
func TestAssessEachAgentNeed(t *testing.T) {
	needs := []string{
		"CONFIG_BLK_DEV_INITRD", "CONFIG_BINFMT_ELF", "CONFIG_DEVTMPFS", "CONFIG_PROC_FS", "CONFIG_SYSFS",
		"CONFIG_FUTEX", "CONFIG_EPOLL", "CONFIG_TTY", "CONFIG_VIRTIO_PCI", "CONFIG_VIRTIO_CONSOLE",
	}
	all, _ := Parse(strings.NewReader(sampleConfig), "x")
	for _, opt := range needs {
		t.Run(opt, func(t *testing.T) {
			c, _ := Parse(strings.NewReader(sampleConfig), "x")
			delete(c.Options, opt)
			_, err := Assess(c, true, "K")
			if err == nil || !strings.Contains(err.Error(), opt+" not set") {
				t.Errorf("without %s: %v", opt, err)
			}
		})
		delete(all.Options, opt)
	}
	_, err := Assess(all, true, "K")
	for _, opt := range needs {
		if err == nil || !strings.Contains(err.Error(), opt) {
			t.Errorf("without any: %s not named in %v", opt, err)
		}
	}
}

func TestDiffConfigs(t *testing.T) {
	a, _ := Parse(strings.NewReader("CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=m\n"), "a")
	b, _ := Parse(strings.NewReader("CONFIG_A=y\nCONFIG_C=y\nCONFIG_D=y\n"), "b")
	got := DiffConfigs(a, b, []string{"CONFIG_C", "CONFIG_A", "CONFIG_B", "CONFIG_B", "CONFIG_E"})
	var s []string
	for _, d := range got {
		s = append(s, d.String())
	}
	if strings.Join(s, "; ") != "CONFIG_B: y -> not set; CONFIG_C: m -> y" {
		t.Errorf("diff %q", s)
	}
}
