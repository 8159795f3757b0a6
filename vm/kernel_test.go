package vm

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// fakeBzImage returns bytes with a minimal setup header carrying version.
func fakeBzImage(version string, protocol uint16) []byte {
	b := make([]byte, 0x1000)
	copy(b[hdrMagicOff:], "HdrS")
	binary.LittleEndian.PutUint16(b[hdrVersionOff:], protocol)
	const at = 0x400
	binary.LittleEndian.PutUint16(b[hdrKVerOff:], at-0x200)
	copy(b[at:], version+"\x00")
	return b
}

func TestInspectKernel(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("bzImage", fakeBzImage("6.12.0-test (me@host) #1 SMP", 0x020f))
	tests := []struct {
		name    string
		path    string
		outcome Outcome // 0: no error
		release string
	}{
		{"bzImage", good, 0, "6.12.0-test"},
		{"missing", filepath.Join(dir, "nope"), MissingFile, ""},
		{"directory", dir, BadInput, ""},
		{"text file", write("README", []byte("hello, not a kernel\n")), BadInput, ""},
		{"ELF vmlinux", write("vmlinux", append([]byte("\x7fELF"), make([]byte, 0x1000)...)), BadInput, ""},
		{"ancient", write("old", fakeBzImage("2.6.0", 0x0200)), BadInput, ""},
		{"empty", write("empty", nil), BadInput, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := InspectKernel(tt.path)
			if tt.outcome == 0 {
				if err != nil {
					t.Fatalf("InspectKernel: %v", err)
				}
				if k.Release() != tt.release {
					t.Errorf("Release() = %q, want %q", k.Release(), tt.release)
				}
				return
			}
			if got := OutcomeOf(err); got != tt.outcome {
				t.Fatalf("outcome = %v (%v), want %v", got, err, tt.outcome)
			}
		})
	}
}
