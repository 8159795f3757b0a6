package vmtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/vm/setup"
)

// b4CheckSince is the first b4 with per-patch check commands
// (b4.am-perpatch-check-cmd, b4.prep-perpatch-check-cmd: v0.14).
var b4CheckSince = [2]int{0, 14}

// b4NextSuite is the Debian release whose b4 has them: bookworm's is
// 0.12, which has neither am --check nor prep --check.
const b4NextSuite = "trixie"

// B4 returns a command that runs a b4 with per-patch checks: the host's
// when it is new enough, else Debian's package from the next release
// (b4 is pure Python; bookworm's own b4 package brings the modules it
// needs), unpacked once into the cache and run with the system's
// python3. Where it cannot be had t fails saying why.
func B4(t testing.TB) string {
	t.Helper()
	Program(t, setup.Need{Program: "b4", Package: "b4", Why: "to drive patchtest check as b4 does (and for its Python modules)"})
	if v, err := b4Version("b4"); err == nil && !versionBefore(v, b4CheckSince) {
		return "b4"
	}
	dir := filepath.Join(CacheDir(), "tools", "b4-"+b4NextSuite)
	wrapper := filepath.Join(dir, "b4")
	if _, err := os.Stat(wrapper); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := unpackDebian(ctx, dir, "b4", b4NextSuite); err != nil {
			t.Fatalf("b4 from Debian %s (bookworm's b4 has no per-patch checks): %v", b4NextSuite, err)
		}
		script := fmt.Sprintf("#!/bin/sh\nPYTHONPATH=%s exec /usr/bin/python3 %s \"$@\"\n",
			filepath.Join(dir, "root", "usr", "lib", "python3", "dist-packages"), filepath.Join(dir, "root", "usr", "bin", "b4"))
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	v, err := b4Version(wrapper)
	if err != nil || versionBefore(v, b4CheckSince) {
		t.Fatalf("b4 from Debian %s: version %q (%v), want %d.%d or later", b4NextSuite, v, err, b4CheckSince[0], b4CheckSince[1])
	}
	return wrapper
}

// unpackDebian downloads pkg from Debian's suite, through the host's
// own Debian mirror with apt lists of its own, and unpacks it (without
// installing it) into dir/root.
func unpackDebian(ctx context.Context, dir, pkg, suite string) error {
	tmp, err := os.MkdirTemp("", "patchtest-apt-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	list := filepath.Join(tmp, "sources.list")
	if err := os.WriteFile(list, []byte(fmt.Sprintf("deb %s %s main\n", debianMirror(), suite)), 0o644); err != nil {
		return err
	}
	state := filepath.Join(tmp, "lists")
	if err := os.MkdirAll(filepath.Join(state, "partial"), 0o755); err != nil {
		return err
	}
	apt := []string{"-o", "Dir::Etc::sourcelist=" + list, "-o", "Dir::Etc::sourceparts=-",
		"-o", "Dir::State::Lists=" + state, "-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1"}
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("apt-get", append(apt, "update")...); err != nil {
		return err
	}
	if err := run("apt-get", append(apt, "download", pkg)...); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s left %d packages", pkg, len(debs))
	}
	part := dir + ".part"
	os.RemoveAll(part)
	if err := os.MkdirAll(filepath.Join(part, "root"), 0o755); err != nil {
		return err
	}
	if err := run("dpkg-deb", "-x", debs[0], filepath.Join(part, "root")); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(part, dir)
}

// debianMirror is the first Debian archive the host's apt sources name
// (not its security archive), or Debian's own.
func debianMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	for _, f := range append([]string{"/etc/apt/sources.list"}, files...) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			var uris []string
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:":
				uris = fields[1:]
			case len(fields) >= 3 && fields[0] == "deb":
				uris = fields[1:2]
				if strings.HasPrefix(fields[1], "[") {
					uris = fields[2:3]
				}
			}
			for _, u := range uris {
				if strings.HasPrefix(u, "http") && strings.HasSuffix(strings.TrimSuffix(u, "/"), "/debian") {
					return u
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// b4Version is what b4 --version prints, such as 0.14.2.
func b4Version(b4 string) (string, error) {
	out, err := exec.Command(b4, "--version").Output()
	return strings.TrimSpace(string(out)), err
}

// versionBefore reports whether version v (MAJOR.MINOR[.PATCH]) is older
// than want.
func versionBefore(v string, want [2]int) bool {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major < want[0] || major == want[0] && minor < want[1]
}
