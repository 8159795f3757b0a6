package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// OnceQEMU returns a QEMU for --qemu that boots each kernel once: a
// later boot of a kernel it has booted before exits 1 at once, saying
// so on stderr, as QEMU on a host out of memory would. Everything that
// boots no kernel (version and accelerator probes) runs the real QEMU.
// A run's first boots work, and whatever boots its candidate again (a
// re-run) fails for the harness's reason.
func OnceQEMU(t testing.TB) string {
	t.Helper()
	real, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatalf("no QEMU: %v", err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
k= prev=
for a in "$@"; do [ "$prev" = -kernel ] && k=$a; prev=$a; done
if [ -n "$k" ]; then
	seen=%[1]s/$(printf %%s "$k" | md5sum | cut -c1-32)
	if [ -e "$seen" ]; then
		echo "qemu-system-x86_64: cannot set up guest memory 'pc.ram': Cannot allocate memory (vmtest.OnceQEMU: a second boot of $k)" >&2
		exit 1
	fi
	: >"$seen"
fi
exec %[2]s "$@"
`, dir, real)
	path := filepath.Join(dir, "qemu-system-x86_64")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
