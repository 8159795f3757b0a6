package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// checkPayload verifies that the bzImage built in out carries the
// vmlinux built with it: the compressed kernel inside the image (its
// payload, which the boot protocol locates) must be the file that
// arch/x86/boot/compressed/piggy.S embeds. A stale piggy.o (one a
// compiler cache returned for an earlier kernel whose compressed size
// was the same) would otherwise make a patched build boot the kernel of
// another series.
func checkPayload(out string) error {
	image := filepath.Join(out, "arch/x86/boot/bzImage")
	img, err := os.ReadFile(image)
	if err != nil {
		return err
	}
	payload, err := bzImagePayload(img)
	if err != nil {
		return fmt.Errorf("%s: %w", image, err)
	}
	piggy := filepath.Join(out, "arch/x86/boot/compressed/piggy.S")
	text, err := os.ReadFile(piggy)
	if err != nil {
		return err
	}
	m := incbin.FindSubmatch(text)
	if m == nil {
		return fmt.Errorf("%s embeds no file", piggy)
	}
	name := string(m[1])
	want, err := os.ReadFile(filepath.Join(out, name))
	if err != nil {
		return err
	}
	if !bytes.Equal(payload, want) {
		return fmt.Errorf("%s does not carry the kernel just built: its compressed kernel differs from %s "+
			"(a stale arch/x86/boot/compressed/piggy.o, from a compiler cache?); build again with PATCHTEST_CCACHE=off", image, name)
	}
	return nil
}

var incbin = regexp.MustCompile(`(?m)^\s*\.incbin\s+"([^"]+)"`)

// bzImagePayload returns the compressed kernel in a bzImage: the boot
// protocol's (2.08 and later) payload_offset and payload_length, counted
// from the protected-mode code after the setup sectors.
func bzImagePayload(img []byte) ([]byte, error) {
	if len(img) < 0x250 || string(img[0x202:0x206]) != "HdrS" {
		return nil, fmt.Errorf("not a bzImage (no HdrS boot header)")
	}
	if v := binary.LittleEndian.Uint16(img[0x206:]); v < 0x208 {
		return nil, fmt.Errorf("boot protocol %d.%02d names no payload", v>>8, v&0xff)
	}
	sects := int(img[0x1f1])
	if sects == 0 {
		sects = 4
	}
	start := (sects + 1) * 512
	off := start + int(binary.LittleEndian.Uint32(img[0x248:]))
	n := int(binary.LittleEndian.Uint32(img[0x24c:]))
	if off < start || n < 0 || off+n > len(img) {
		return nil, fmt.Errorf("payload at %d, %d bytes, outside the image (%d bytes)", off, n, len(img))
	}
	return img[off : off+n], nil
}
