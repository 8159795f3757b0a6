package setup

import (
	"bytes"
	"context"
	"errors"
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

// Ensure runs apt-get, update first, when it may, and otherwise refuses
// naming what is missing and the command; a fake apt-get on PATH records
// what it was asked.
func TestEnsure(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "apt.log")
	os.WriteFile(filepath.Join(bin, "apt-get"), []byte("#!/bin/sh\necho \"$DEBIAN_FRONTEND $*\" >> "+log+"\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "sudo"), []byte("#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "true"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	t.Setenv("PATH", bin)
	t.Setenv(NoInstallEnv, "")
	p := Plan{Missing: []Need{{"qemu-system-x86_64", "qemu-system-x86", "to boot the guests"}, {"make", "make", "to build kernels"}}, Update: true, UpdateWhy: "they know no linux-source-6.12"}

	var out bytes.Buffer
	if err := Ensure(context.Background(), p, false, &out); err != nil {
		t.Fatalf("Ensure: %v\n%s", err, out.String())
	}
	b, _ := os.ReadFile(log)
	if got := string(b); got != "noninteractive update -qq\nnoninteractive install -y -qq --no-install-recommends make qemu-system-x86\n" {
		t.Errorf("apt-get was asked:\n%s", got)
	}
	if !strings.Contains(out.String(), "installing: ") || !strings.Contains(out.String(), "qemu-system-x86_64 (qemu-system-x86, to boot the guests)") {
		t.Errorf("progress: %s", out.String())
	}

	os.Remove(log)
	for name, refuse := range map[string]func(){
		"--no-install":   func() {},
		NoInstallEnv:     func() { t.Setenv(NoInstallEnv, "1") },
		"no apt-get":     func() { os.Remove(filepath.Join(bin, "apt-get")) },
		"nothing to run": func() {},
	} {
		refuse()
		noInstall := name == "--no-install"
		if name == "nothing to run" {
			if err := Ensure(context.Background(), Plan{}, true, &out); err != nil {
				t.Errorf("an empty plan: %v", err)
			}
			continue
		}
		err := Ensure(context.Background(), p, noInstall, &out)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "apt-get update && ") || !strings.Contains(err.Error(), "this host lacks qemu-system-x86_64") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("apt-get ran although installing was refused")
	}
}
