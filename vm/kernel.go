package vm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// KernelImage describes an x86 bzImage as read from its setup header.
type KernelImage struct {
	Path string
	// Version is the kernel's version string, e.g.
	// "6.12.117+deb12-amd64 (debian-kernel@lists.debian.org) #1 SMP …".
	Version string
	// Protocol is the boot protocol version, e.g. 0x020f.
	Protocol uint16
}

// Release is the first word of Version, as uname -r prints it.
func (k KernelImage) Release() string {
	r, _, _ := strings.Cut(k.Version, " ")
	return r
}

// Setup header offsets (Documentation/arch/x86/boot.rst).
const (
	hdrMagicOff   = 0x202 // "HdrS"
	hdrVersionOff = 0x206
	hdrKVerOff    = 0x20e // pointer to the version string, minus 0x200
	minProtocol   = 0x020a
)

// InspectKernel checks that path is an x86 bzImage that QEMU can boot and
// reads its version. A missing file is a MissingFile error, anything else
// that is not a bzImage a BadInput error; both say what to pass instead.
func InspectKernel(path string) (KernelImage, error) {
	k := KernelImage{Path: path}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, errorf(MissingFile, "kernel %s: no such file; pass a bzImage such as arch/x86/boot/bzImage or /boot/vmlinuz-*", path)
	}
	if err != nil {
		return k, errorf(BadInput, "kernel %s: %v", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return k, errorf(BadInput, "kernel %s: is a directory; pass the bzImage inside it (arch/x86/boot/bzImage)", path)
	}
	hdr := make([]byte, 0x10000) // the setup code, where the version string lives
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return k, errorf(BadInput, "kernel %s: %v", path, err)
	}
	hdr = hdr[:n]
	if bytes.HasPrefix(hdr, []byte("\x7fELF")) {
		return k, errorf(BadInput, "kernel %s: is an ELF vmlinux, not a bzImage; pass arch/x86/boot/bzImage from the same build", path)
	}
	if len(hdr) < 0x250 || string(hdr[hdrMagicOff:hdrMagicOff+4]) != "HdrS" {
		return k, errorf(BadInput, "kernel %s: not an x86 Linux kernel (no bzImage setup header); pass a bzImage such as arch/x86/boot/bzImage", path)
	}
	k.Protocol = binary.LittleEndian.Uint16(hdr[hdrVersionOff:])
	if k.Protocol < minProtocol {
		return k, errorf(BadInput, "kernel %s: boot protocol %#x is older than %#x; it is too old to boot here", path, k.Protocol, minProtocol)
	}
	if p := int(binary.LittleEndian.Uint16(hdr[hdrKVerOff:])) + 0x200; p > 0x200 && p < len(hdr) {
		end := bytes.IndexByte(hdr[p:], 0)
		if end > 0 {
			k.Version = string(hdr[p : p+end])
		}
	}
	return k, nil
}

// String names the kernel for messages.
func (k KernelImage) String() string {
	if k.Version == "" {
		return k.Path
	}
	return fmt.Sprintf("%s (%s)", k.Path, k.Release())
}
