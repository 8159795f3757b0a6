package setup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHost has the programs and packages listed, and apt lists that know
// the packages in known.
func fakeHost(programs, installed, known []string) Host {
	has := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	return Host{
		LookPath: func(p string) (string, error) {
			if has(programs, p) {
				return "/usr/bin/" + p, nil
			}
			return "", errors.New("not found")
		},
		Installed: func(_ context.Context, p string) bool { return has(installed, p) },
		Known:     func(_ context.Context, p string) bool { return has(known, p) },
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	programs, libraries, apt := ForSources([]string{"debian:6.12", "debian:6.12", "git:/tree"}, t.TempDir())
	if len(apt) != 1 || apt[0].Package != "linux-source-6.12" {
		t.Fatalf("apt sources %+v", apt)
	}
	// A bare machine with stale lists: everything, after an update.
	bare := fakeHost(nil, nil, nil)
	p := bare.Check(ctx, append(BootWith(""), programs...), libraries, apt)
	if !p.Update || !strings.Contains(p.UpdateWhy, "linux-source-6.12") {
		t.Errorf("no update planned: %+v", p)
	}
	pk := strings.Join(p.Packages(), " ")
	for _, want := range []string{"qemu-system-x86", "busybox-static", "make", "libelf-dev", "libssl-dev", "xz-utils"} {
		if !strings.Contains(pk, want) {
			t.Errorf("plan lacks %s: %s", want, pk)
		}
	}
	if cmd := p.Command(); !strings.HasPrefix(strings.TrimPrefix(cmd, "sudo "), "apt-get update && ") || !strings.Contains(cmd, "apt-get install -y --no-install-recommends ") {
		t.Errorf("command %q", cmd)
	}
	// A ready machine: nothing to do; a user's own QEMU is theirs.
	ready := fakeHost([]string{"qemu-system-x86_64", "busybox"}, nil, []string{"qemu-system-x86"})
	if p := ready.Check(ctx, BootWith(""), nil, nil); !p.Empty() {
		t.Errorf("ready host: %+v", p)
	}
	if p := fakeHost(nil, nil, []string{"busybox-static"}).Check(ctx, BootWith("/opt/qemu/bin/qemu-system-x86_64"), nil, nil); len(p.Missing) != 1 || p.Missing[0].Package != "busybox-static" || p.Update {
		t.Errorf("own QEMU: %+v", p)
	}
	// A downloaded source needs no apt lists.
	cache := t.TempDir()
	os.MkdirAll(filepath.Join(cache, "downloads"), 0o755)
	os.WriteFile(filepath.Join(cache, "downloads", "linux-source-6.12_6.12.117-1_all.deb"), nil, 0o644)
	if _, _, apt := ForSources([]string{"debian:6.12"}, cache); len(apt) != 0 {
		t.Errorf("cached source still needs apt: %+v", apt)
	}
}

// ensureHost is a PATH of its own with a fake apt-get that records what
// it was asked in the returned log, and a sudo that runs its command when
// sudoWorks, else fails as sudo -n does without a password-less rule.
func ensureHost(t *testing.T, sudoWorks bool) (bin, log string) {
	t.Helper()
	bin = t.TempDir()
	log = filepath.Join(bin, "apt.log")
	os.WriteFile(filepath.Join(bin, "apt-get"), []byte("#!/bin/sh\necho \"$0 $DEBIAN_FRONTEND $*\" >> "+log+"\n"), 0o755)
	// Without -n, a real sudo would wait for a password at a prompt
	// nobody answers: the fake fails instead.
	sudo := "#!/bin/sh\n[ \"$1\" = -n ] || { echo 'sudo: a terminal is required to read the password' >&2; exit 1; }\nshift\necho sudo >> " + log + "\nexec \"$@\"\n"
	if !sudoWorks {
		sudo = "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n"
	}
	os.WriteFile(filepath.Join(bin, "sudo"), []byte(sudo), 0o755)
	os.WriteFile(filepath.Join(bin, "true"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	t.Setenv("PATH", bin)
	t.Setenv(NoInstallEnv, "")
	return bin, log
}

var ensurePlan = Plan{Missing: []Need{{"qemu-system-x86_64", "qemu-system-x86", "to boot the guests"}, {"make", "make", "to build kernels"}},
	Update: true, UpdateWhy: "they know no linux-source-6.12"}

// Ensure runs apt-get, update first, when it may: as root directly, else
// through password-less sudo; a fake apt-get on PATH records what it was
// asked.
func TestEnsure(t *testing.T) {
	for _, tc := range []struct {
		name string
		euid int
		want string
	}{
		{"root", 0, "APT noninteractive update -qq -oDPkg::Lock::Timeout=600\nAPT noninteractive install -y -qq -oDPkg::Lock::Timeout=600 --no-install-recommends make qemu-system-x86\n"},
		{"password-less sudo", 1000, "sudo\nsudo\nAPT noninteractive update -qq -oDPkg::Lock::Timeout=600\nsudo\nAPT noninteractive install -y -qq -oDPkg::Lock::Timeout=600 --no-install-recommends make qemu-system-x86\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, log := ensureHost(t, true)
			var out bytes.Buffer
			if err := ensure(context.Background(), ensurePlan, false, &out, tc.euid); err != nil {
				t.Fatalf("Ensure: %v\n%s", err, out.String())
			}
			b, _ := os.ReadFile(log)
			if got, want := string(b), strings.ReplaceAll(tc.want, "APT", filepath.Join(bin, "apt-get")); got != want {
				t.Errorf("apt-get was asked:\n%s\nwant:\n%s", got, want)
			}
			if !strings.Contains(out.String(), "installing: ") || !strings.Contains(out.String(), "qemu-system-x86_64 (qemu-system-x86, to boot the guests)") {
				t.Errorf("progress: %s", out.String())
			}
		})
	}
	t.Run("nothing to do", func(t *testing.T) {
		_, log := ensureHost(t, true)
		if err := ensure(context.Background(), Plan{}, true, io.Discard, 0); err != nil {
			t.Errorf("an empty plan: %v", err)
		}
		if _, err := os.Stat(log); err == nil {
			t.Error("apt-get ran for an empty plan")
		}
	})
}

// Each way Ensure refuses, on its own host: the reason it gives, what is
// missing and the one command, and apt-get never runs.
func TestEnsureRefuses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noInstall bool
		euid      int
		sudoWorks bool
		setup     func(t *testing.T, bin string)
		why       string
	}{
		{name: "--no-install", noInstall: true, sudoWorks: true, why: "installing is turned off"},
		{name: NoInstallEnv, sudoWorks: true, setup: func(t *testing.T, _ string) { t.Setenv(NoInstallEnv, "1") }, why: "installing is turned off"},
		{name: "no apt-get", sudoWorks: true, setup: func(t *testing.T, bin string) { os.Remove(filepath.Join(bin, "apt-get")) }, why: "no apt-get on this host"},
		{name: "not root, sudo wants a password", euid: 1000, why: "not root and no password-less sudo"},
		{name: "not root, no sudo", euid: 1000, sudoWorks: true, setup: func(t *testing.T, bin string) { os.Remove(filepath.Join(bin, "sudo")) }, why: "not root and no password-less sudo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, log := ensureHost(t, tc.sudoWorks)
			if tc.setup != nil {
				tc.setup(t, bin)
			}
			err := ensure(context.Background(), ensurePlan, tc.noInstall, io.Discard, tc.euid)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v, want a refusal", err)
			}
			for _, want := range []string{tc.why, "apt-get update && ", "this host lacks qemu-system-x86_64"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%v lacks %q", err, want)
				}
			}
			if b, err := os.ReadFile(log); err == nil && strings.Contains(string(b), "apt-get") {
				t.Errorf("apt-get ran although installing was refused:\n%s", b)
			}
		})
	}
}
