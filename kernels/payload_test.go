package kernels

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBzImage lays payload out as a bzImage does: setup sectors, then
// the protected-mode code with the payload at offset within it.
func fakeBzImage(setupSects byte, protocol uint16, offset int, payload []byte) []byte {
	sects := int(setupSects)
	if sects == 0 {
		sects = 4
	}
	start := (sects + 1) * 512
	img := make([]byte, start+offset+len(payload)+64)
	img[0x1f1] = setupSects
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], protocol)
	binary.LittleEndian.PutUint32(img[0x248:], uint32(offset))
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	copy(img[start+offset:], payload)
	return img
}

func TestCheckPayload(t *testing.T) {
	built := []byte("\xfd7zXZ this build's compressed vmlinux")
	tests := []struct {
		name  string
		image []byte
		err   string // a substring of the error; "" for none
	}{
		{"the kernel just built", fakeBzImage(27, 0x20f, 0x3b4, built), ""},
		{"setup_sects 0 means 4", fakeBzImage(0, 0x20f, 16, built), ""},
		{"an earlier kernel's payload", fakeBzImage(27, 0x20f, 0x3b4, []byte("\xfd7zXZ an earlier kernel's vmlinux!!!")), "does not carry the kernel just built"},
		{"a shorter payload", fakeBzImage(27, 0x20f, 0x3b4, built[:10]), "does not carry"},
		{"no boot header", make([]byte, 4096), "not a bzImage"},
		{"protocol 2.06", fakeBzImage(27, 0x206, 0x3b4, built), "names no payload"},
		{"payload past the end", func() []byte {
			img := fakeBzImage(27, 0x20f, 0x3b4, built)
			binary.LittleEndian.PutUint32(img[0x24c:], 1<<30)
			return img
		}(), "outside the image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			comp := filepath.Join(out, "arch/x86/boot/compressed")
			os.MkdirAll(comp, 0o755)
			piggy := ".section \".rodata..compressed\",\"a\",@progbits\ninput_data:\n.incbin \"arch/x86/boot/compressed/vmlinux.bin.xz\"\ninput_data_end:\n"
			for name, data := range map[string][]byte{
				"arch/x86/boot/bzImage":                   tt.image,
				"arch/x86/boot/compressed/piggy.S":        []byte(piggy),
				"arch/x86/boot/compressed/vmlinux.bin.xz": built,
			} {
				if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := checkPayload(out)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("checkPayload: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("checkPayload = %v, want an error with %q", err, tt.err)
			}
		})
	}
}
