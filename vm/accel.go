package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

// TCGScale is how much longer than under KVM a guest may take under TCG
// before its boot or command counts as hung.
const TCGScale = 4

// kvmProgress bounds the wait for a KVM guest's first console output; a
// kernel under KVM prints within a second, and a broken KVM prints nothing.
const kvmProgress = 20 * time.Second

// HostKey identifies what a KVM verdict depends on: the host kernel, the
// QEMU build and the host CPU.
type HostKey struct {
	HostKernel string `json:"host_kernel"`
	QEMU       string `json:"qemu"`
	CPU        string `json:"cpu"`
}

// KVMVerdict records whether KVM worked on this host.
type KVMVerdict struct {
	HostKey
	Works   bool      `json:"works"`
	Reason  string    `json:"reason,omitempty"`
	Checked time.Time `json:"checked"`
}

func (v KVMVerdict) String() string {
	if v.Works {
		return fmt.Sprintf("KVM works (checked %s)", v.Checked.Format(time.DateTime))
	}
	return fmt.Sprintf("KVM broken: %s (checked %s)", v.Reason, v.Checked.Format(time.DateTime))
}

// VerdictFile is where the KVM verdict for this host is kept in cacheDir.
func VerdictFile(cacheDir string) string { return filepath.Join(cacheDir, "kvm-verdict.json") }

// LoadKVMVerdict returns the verdict saved for key, if any.
func LoadKVMVerdict(cacheDir string, key HostKey) (KVMVerdict, bool) {
	b, err := os.ReadFile(VerdictFile(cacheDir))
	if err != nil {
		return KVMVerdict{}, false
	}
	var v KVMVerdict
	if json.Unmarshal(b, &v) != nil || v.HostKey != key {
		return KVMVerdict{}, false
	}
	return v, true
}

// SaveKVMVerdict remembers v for this host.
func SaveKVMVerdict(cacheDir string, v KVMVerdict) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	return renameio.WriteFile(VerdictFile(cacheDir), append(b, '\n'), 0o644)
}

// ForgetKVMVerdict removes the saved verdict, so that the next auto boot
// tests KVM again.
func ForgetKVMVerdict(cacheDir string) error {
	err := os.Remove(VerdictFile(cacheDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// HostKeyFor returns the HostKey for qemu on this host.
func HostKeyFor(qemuVersion string) HostKey {
	var u unix.Utsname
	_ = unix.Uname(&u)
	return HostKey{HostKernel: unix.ByteSliceToString(u.Release[:]), QEMU: qemuVersion, CPU: cpuModel()}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// KVMDevice reports why the KVM device (/dev/kvm when empty) cannot be
// used, or nil.
func KVMDevice(dev string) error {
	if dev == "" {
		dev = "/dev/kvm"
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// kvmFailure reports whether a line of QEMU's stderr says that KVM failed.
func kvmFailure(line string) bool {
	return strings.Contains(line, "KVM internal error") ||
		strings.Contains(line, "kvm run failed") ||
		// A nested host whose KVM rejects the vCPU's MSRs: QEMU aborts
		// ("failed to set MSR 0x10a", then an assertion in kvm.c).
		strings.Contains(line, "failed to set MSR") ||
		strings.Contains(line, "kvm_buf_set_msrs") ||
		strings.Contains(line, "failed to initialize kvm") ||
		strings.Contains(line, "failed to initialize KVM")
}

// QEMUInfo is what patchtest records about the QEMU it runs.
type QEMUInfo struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// FindQEMU locates the QEMU binary (name, or qemu-system-x86_64 when empty)
// and asks it for its version.
func FindQEMU(ctx context.Context, name string) (QEMUInfo, error) {
	if name == "" {
		name = "qemu-system-x86_64"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return QEMUInfo{}, &Error{Outcome: QEMUMissing, Msg: fmt.Sprintf("%s not found in PATH; install it with: apt-get install qemu-system-x86", name)}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").Output()
	if err != nil {
		return QEMUInfo{}, &Error{Outcome: Infrastructure, Msg: p + " --version", Err: err}
	}
	first, _, _ := strings.Cut(string(out), "\n")
	v := strings.TrimSpace(strings.TrimPrefix(first, "QEMU emulator version"))
	return QEMUInfo{Path: p, Version: v}, nil
}
