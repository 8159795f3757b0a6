package vm

import (
	"slices"
	"strings"
	"testing"
)

func TestDevices(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dev   Device
		qemu  []string // must appear, in order, as one run
		kargs []string
	}{
		{"board defaults", Board{}, []string{"-machine", "pc", "-smp", "1", "-m", "64"}, []string{"panic=-1"}},
		{"board sized", Board{Type: "q35", CPUs: 4, MemoryMiB: 2048}, []string{"-machine", "q35", "-smp", "4", "-m", "2048"}, []string{"panic=-1"}},
		{"tcg", TCG, []string{"-accel", "tcg", "-cpu", "max"}, []string{"tsc=reliable"}},
		{"kvm", KVM, []string{"-accel", "kvm", "-cpu", "host"}, nil},
		{"console", Console{}, []string{"-serial", "chardev:con0"}, []string{"console=ttyS0", "loglevel=5"}},
		{"pvpanic", PVPanic{}, []string{"-device", "pvpanic"}, nil},
		{"qmp", QMP{Socket: "/d/q.sock"}, []string{"-chardev", "socket,id=qmp0,path=/d/q.sock,server=on,wait=off"}, nil},
		{"agent port", AgentPort{Socket: "/d/a.sock"}, []string{"-device", "virtserialport,bus=vser0.0,chardev=agent0,name=org.patchtest.agent.0"}, nil},
		{"instruction clock", InstructionCounter{}, []string{"-icount", "shift=0,sleep=off"}, []string{"noapictimer", "nohz=off", "randomize_kstack_offset=off"}},
		{"kernel", KernelBoot{Kernel: "/k", Initrd: "/i", Extra: []string{"x=1"}}, []string{"-kernel", "/k", "-initrd", "/i"}, []string{"rdinit=/init", "x=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.dev.QEMUArgs()
			if !containsRun(q, tc.qemu) {
				t.Errorf("QEMUArgs() = %q; want the run %q", q, tc.qemu)
			}
			if k := tc.dev.KernelArgs(); !slices.Equal(k, tc.kargs) {
				t.Errorf("KernelArgs() = %q; want %q", k, tc.kargs)
			}
		})
	}
}

func containsRun(s, run []string) bool {
	for i := 0; i+len(run) <= len(s); i++ {
		if slices.Equal(s[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

func TestCmdline(t *testing.T) {
	args := Cmdline(Board{}, TCG, Console{}, KernelBoot{Kernel: "/k", Initrd: "/i"})
	i := slices.Index(args, "-append")
	if i < 0 || i != len(args)-2 {
		t.Fatalf("no trailing -append in %q", args)
	}
	if got, want := args[i+1], "panic=-1 tsc=reliable console=ttyS0 loglevel=5 rdinit=/init"; got != want {
		t.Errorf("-append %q; want %q", got, want)
	}
	if n := strings.Count(strings.Join(args, " "), "-append"); n != 1 {
		t.Errorf("%d -append arguments", n)
	}
	if got := Cmdline(Board{}); slices.Contains(got, "-append") == false {
		t.Errorf("board's panic=-1 lost: %q", got)
	}
}

func TestParseAccelerator(t *testing.T) {
	for _, s := range []string{"auto", "kvm", "tcg"} {
		if a, err := ParseAccelerator(s); err != nil || string(a) != s {
			t.Errorf("ParseAccelerator(%q) = %q, %v", s, a, err)
		}
	}
	if _, err := ParseAccelerator("hvf"); err == nil {
		t.Error("ParseAccelerator(hvf) succeeded")
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"qemu", "-append", "a b", "it's", "plain,x=1"})
	want := `qemu -append 'a b' 'it'\''s' plain,x=1`
	if got != want {
		t.Errorf("ShellQuote = %s; want %s", got, want)
	}
}

func TestKVMFailure(t *testing.T) {
	for line, want := range map[string]bool{
		"KVM internal error. Suberror: 1":                            true,
		"error: kvm run failed Bad address":                          true,
		"qemu-system-x86_64: failed to initialize kvm: foo":          true,
		"qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69": true,
		"qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.": true,
		"EAX=00000000 EBX=00000000":                    false,
		"qemu-system-x86_64: terminating on signal 15": false,
	} {
		if got := kvmFailure(line); got != want {
			t.Errorf("kvmFailure(%q) = %v", line, got)
		}
	}
}

func TestVerdict(t *testing.T) {
	dir := t.TempDir()
	key := HostKey{HostKernel: "6.1.0", QEMU: "7.2.22", CPU: "Xeon"}
	if _, ok := LoadKVMVerdict(dir, key); ok {
		t.Fatal("verdict found in an empty cache")
	}
	v := KVMVerdict{HostKey: key, Works: false, Reason: "KVM internal error"}
	if err := SaveKVMVerdict(dir, v); err != nil {
		t.Fatal(err)
	}
	got, ok := LoadKVMVerdict(dir, key)
	if !ok || got.Works || got.Reason != v.Reason {
		t.Errorf("LoadKVMVerdict = %+v, %v", got, ok)
	}
	other := key
	other.QEMU = "8.0"
	if _, ok := LoadKVMVerdict(dir, other); ok {
		t.Error("a verdict for another QEMU was used")
	}
	if err := ForgetKVMVerdict(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := LoadKVMVerdict(dir, key); ok {
		t.Error("verdict survived ForgetKVMVerdict")
	}
	if err := ForgetKVMVerdict(dir); err != nil {
		t.Errorf("forgetting twice: %v", err)
	}
}

func TestClock(t *testing.T) {
	for in, want := range map[string]Clock{"": RealTime, "real": RealTime, "icount": Instructions} {
		if c, err := ParseClock(in); err != nil || c != want {
			t.Errorf("ParseClock(%q) = %q, %v", in, c, err)
		}
	}
	if _, err := ParseClock("wall"); err == nil {
		t.Error("ParseClock(wall) succeeded")
	}
	got := strings.Join(Cmdline(TCG, InstructionCounter{}), " ")
	if !strings.Contains(got, "-accel tcg -cpu max -icount shift=0,sleep=off") {
		t.Errorf("command line %q", got)
	}
}
