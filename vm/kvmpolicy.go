package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Start boots a guest and waits until its agent answers. When the
// accelerator is Auto it verifies KVM, falling back to TCG with a notice.
// The caller must Close the machine.
func Start(ctx context.Context, spec Spec) (*Machine, error) {
	kernel, err := InspectKernel(spec.Kernel)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(spec.Initramfs); err != nil {
		return nil, &Error{Outcome: MissingFile, Msg: "initramfs", Err: err}
	}
	var q QEMUInfo
	if spec.found != nil {
		q = *spec.found
	} else if q, err = FindQEMU(ctx, spec.QEMU); err != nil {
		return nil, err
	}
	if spec.Accel == "" {
		spec.Accel = Auto
	}
	notice := func(msg string) {
		if spec.Events != nil {
			spec.Events(Event{Kind: EventNotice, Time: time.Now(), Msg: msg})
		}
	}
	switch spec.Accel {
	case TCG:
		return launch(ctx, spec, kernel, q, TCG, "requested", false)
	case KVM:
		if err := KVMDevice(spec.KVMDevice); err != nil {
			return nil, &Error{Outcome: Infrastructure, Msg: "--accel kvm", Err: err}
		}
		m, err := launch(ctx, spec, kernel, q, KVM, "requested", true)
		var kb *kvmBroken
		if errors.As(err, &kb) {
			return nil, &Error{Outcome: Infrastructure, Msg: "--accel kvm (try --accel auto or tcg)", Err: kb}
		}
		return m, err
	}
	if err := KVMDevice(spec.KVMDevice); err != nil {
		note := fmt.Sprintf("KVM unusable (%v); using TCG", err)
		notice(note)
		return launch(ctx, spec, kernel, q, TCG, note, false)
	}
	key := HostKeyFor(q.Version)
	if v, ok := LoadKVMVerdict(spec.CacheDir, key); ok {
		if v.Works {
			m, err := launch(ctx, spec, kernel, q, KVM, "verified earlier", true)
			var kb *kvmBroken
			if errors.As(err, &kb) {
				// It worked once; say so rather than silently retrying.
				_ = ForgetKVMVerdict(spec.CacheDir)
				return nil, &Error{Outcome: Infrastructure, Msg: "KVM, verified earlier on this host, failed now; the verdict is forgotten, run again to re-test", Err: kb}
			}
			return m, err
		}
		note := fmt.Sprintf("KVM broken on this host (%s, found %s); using TCG — `patchtest doctor --recheck-kvm` tests it again", v.Reason, v.Checked.Format(time.DateOnly))
		notice(note)
		return launch(ctx, spec, kernel, q, TCG, note, false)
	}
	m, err := launch(ctx, spec, kernel, q, KVM, "verified now", true)
	var kb *kvmBroken
	if !errors.As(err, &kb) {
		if err == nil {
			_ = SaveKVMVerdict(spec.CacheDir, KVMVerdict{HostKey: key, Works: true, Checked: time.Now()})
		}
		return m, err
	}
	note := fmt.Sprintf("KVM does not work on this host (%s); falling back to TCG", kb.reason)
	notice(note)
	m, err = launch(ctx, spec, kernel, q, TCG, note, false)
	if err == nil {
		// TCG booting the same kernel proves the kernel was not to blame.
		_ = SaveKVMVerdict(spec.CacheDir, KVMVerdict{HostKey: key, Works: false, Reason: kb.reason, Checked: time.Now()})
	}
	return m, err
}

// kvmBroken is launch's error when a KVM probe failed.
type kvmBroken struct{ reason string }

func (k *kvmBroken) Error() string { return "KVM broken: " + k.reason }
