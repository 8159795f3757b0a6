// Package setup finds the host packages patchtest needs and lacks, and
// installs them with apt-get when it may: as root, or through sudo
// without a password. Asked not to (NoInstall, or PATCHTEST_NO_INSTALL in
// the environment, as CI may set it), it refuses with the one command
// that would.
package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// NoInstallEnv, set to anything but "" or "0", forbids installing.
const NoInstallEnv = "PATCHTEST_NO_INSTALL"

// Need is a program patchtest needs, the Debian package that has it and
// why it is needed.
type Need struct {
	Program, Package, Why string
}

// Boot is what booting a guest needs.
var Boot = []Need{
	{"qemu-system-x86_64", "qemu-system-x86", "to boot the guests"},
	{"busybox", "busybox-static", "for a shell in the guests"},
}

// BootWith is Boot for guests run by the QEMU binary qemu: a binary the
// user names (not the default on PATH) is theirs to provide.
func BootWith(qemu string) []Need {
	if qemu == "" || qemu == Boot[0].Program {
		return Boot
	}
	return Boot[1:]
}

// Build is what building a kernel from source needs.
var Build = []Need{
	{"make", "make", "to build kernels"},
	{"gcc", "gcc", "to build kernels"},
	{"flex", "flex", "to build kernels"},
	{"bison", "bison", "to build kernels"},
	{"bc", "bc", "to build kernels"},
	{"cpio", "cpio", "to build kernels"},
	{"git", "git", "to apply series in git trees"},
	{"patch", "patch", "to apply series"},
	{"zstd", "zstd", "to unpack Debian packages"},
	{"xz", "xz-utils", "to unpack Debian packages"},
}

// BuildLibraries are the headers a kernel build needs, by package; they
// are checked with dpkg, not on PATH.
var BuildLibraries = []Need{
	{"libelf.h", "libelf-dev", "to build kernels (objtool)"},
	{"openssl/ssl.h", "libssl-dev", "to build kernels (signing tools)"},
}

// AptSource is a package patchtest downloads with apt-get: the apt lists
// must know it, or they are too old and need apt-get update.
type AptSource struct {
	Package, Why string
}

// Plan is what the host lacks and how to get it.
type Plan struct {
	// Missing are the needs not met, in the order asked.
	Missing []Need
	// Update is set when the apt lists must be refreshed first (they
	// know no candidate for a package patchtest downloads).
	Update bool
	// UpdateWhy says which package the lists did not know.
	UpdateWhy string
}

// Empty reports whether nothing is to be done.
func (p Plan) Empty() bool { return len(p.Missing) == 0 && !p.Update }

// Packages are the packages to install, each once, sorted.
func (p Plan) Packages() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range p.Missing {
		if !seen[n.Package] {
			seen[n.Package] = true
			out = append(out, n.Package)
		}
	}
	sort.Strings(out)
	return out
}

// Command is the one shell command that carries the plan out, as a user
// would type it.
func (p Plan) Command() string {
	var parts []string
	if p.Update {
		parts = append(parts, "apt-get update")
	}
	if pk := p.Packages(); len(pk) > 0 {
		parts = append(parts, "apt-get install -y --no-install-recommends "+strings.Join(pk, " "))
	}
	prefix := ""
	if os.Geteuid() != 0 {
		prefix = "sudo "
	}
	for i := range parts {
		parts[i] = prefix + parts[i]
	}
	return strings.Join(parts, " && ")
}

// String says what is missing and why, in one line.
func (p Plan) String() string {
	var what []string
	for _, n := range p.Missing {
		what = append(what, fmt.Sprintf("%s (%s, %s)", n.Program, n.Package, n.Why))
	}
	if p.Update {
		what = append(what, "fresh apt lists ("+p.UpdateWhy+")")
	}
	return "this host lacks " + strings.Join(what, ", ")
}

// Host answers the questions a plan asks; Real asks this machine.
type Host struct {
	// LookPath finds a program.
	LookPath func(string) (string, error)
	// Installed reports whether a Debian package is installed.
	Installed func(ctx context.Context, pkg string) bool
	// Known reports whether apt's lists have a candidate for a package.
	Known func(ctx context.Context, pkg string) bool
}

// Real is this machine.
var Real = Host{
	LookPath: exec.LookPath,
	Installed: func(ctx context.Context, pkg string) bool {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}", pkg).Output()
		return err == nil && bytes.Contains(out, []byte("install ok installed"))
	},
	Known: func(ctx context.Context, pkg string) bool {
		out, err := exec.CommandContext(ctx, "apt-cache", "policy", pkg).Output()
		if err != nil {
			return false
		}
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Candidate:"); ok {
				return strings.TrimSpace(v) != "" && strings.TrimSpace(v) != "(none)"
			}
		}
		return false
	},
}

// Check works out what the host lacks of programs and libraries, and
// whether apt's lists know the packages to be downloaded.
func (h Host) Check(ctx context.Context, programs, libraries []Need, sources []AptSource) Plan {
	var p Plan
	for _, n := range programs {
		if _, err := h.LookPath(n.Program); err != nil {
			p.Missing = append(p.Missing, n)
		}
	}
	for _, n := range libraries {
		if !h.Installed(ctx, n.Package) {
			p.Missing = append(p.Missing, n)
		}
	}
	for _, s := range sources {
		if !h.Known(ctx, s.Package) {
			p.Update, p.UpdateWhy = true, fmt.Sprintf("they know no %s, %s", s.Package, s.Why)
			break
		}
	}
	// Installing anything on a machine with stale lists fails: refresh.
	if len(p.Missing) > 0 && !p.Update && !h.Known(ctx, p.Missing[0].Package) {
		p.Update, p.UpdateWhy = true, "they know no "+p.Missing[0].Package
	}
	return p
}

// lockWait has apt-get wait for another apt-get or dpkg to finish (up to
// ten minutes) rather than fail at once on its lock: two patchtest
// processes, or two test packages, may install at the same time.
const lockWait = "-oDPkg::Lock::Timeout=600"

// ErrRefused is wrapped by Ensure's error when installing was not
// allowed or not possible.
var ErrRefused = errors.New("not installed")

// Ensure carries p out with apt-get, telling w what it does, unless
// noInstall (or NoInstallEnv) forbids it or the host does not allow it
// (no apt-get, not root and no password-less sudo): then the error names
// what is missing and the one command that installs it.
func Ensure(ctx context.Context, p Plan, noInstall bool, w io.Writer) error {
	return ensure(ctx, p, noInstall, w, os.Geteuid())
}

// ensure is Ensure for a process whose effective user ID is euid.
func ensure(ctx context.Context, p Plan, noInstall bool, w io.Writer, euid int) error {
	if p.Empty() {
		return nil
	}
	if v := os.Getenv(NoInstallEnv); v != "" && v != "0" {
		noInstall = true
	}
	refuse := func(why string) error {
		return fmt.Errorf("%s; %s: run %s: %w", p, why, p.Command(), ErrRefused)
	}
	if noInstall {
		return refuse("installing is turned off (--no-install or " + NoInstallEnv + ")")
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return refuse("no apt-get on this host")
	}
	var prefix []string
	if euid != 0 {
		sudo, err := exec.LookPath("sudo")
		if err != nil || exec.CommandContext(ctx, sudo, "-n", "true").Run() != nil {
			return refuse("not root and no password-less sudo")
		}
		prefix = []string{sudo, "-n"}
	}
	run := func(args ...string) error {
		argv := append(append(append([]string(nil), prefix...), apt), args...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, lastLines(out.String(), 10))
		}
		return nil
	}
	fmt.Fprintf(w, "patchtest: %s; installing: %s\n", p, p.Command())
	if p.Update {
		if err := run("update", "-qq", lockWait); err != nil {
			return err
		}
	}
	if pk := p.Packages(); len(pk) > 0 {
		if err := run(append([]string{"install", "-y", "-qq", lockWait, "--no-install-recommends"}, pk...)...); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "patchtest: installed")
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// ForSources is what building kernels from the given sources needs: the
// build tools and libraries, and, for a debian:X.Y source not yet
// downloaded into cacheDir, apt lists that know linux-source-X.Y.
func ForSources(sources []string, cacheDir string) (programs, libraries []Need, apt []AptSource) {
	if len(sources) == 0 {
		return nil, nil, nil
	}
	seen := map[string]bool{}
	for _, s := range sources {
		v, ok := strings.CutPrefix(s, "debian:")
		if !ok || seen[v] {
			continue
		}
		seen[v] = true
		pkg := "linux-source-" + v
		if debs, _ := filepath.Glob(filepath.Join(cacheDir, "downloads", pkg+"_*.deb")); len(debs) > 0 {
			continue
		}
		apt = append(apt, AptSource{Package: pkg, Why: "the kernel source of " + s})
	}
	return Build, BuildLibraries, apt
}

// Program returns the path of need's program, installing its package
// first (Ensure) when the host lacks it.
func Program(ctx context.Context, need Need, noInstall bool, w io.Writer) (string, error) {
	if err := Ensure(ctx, Real.Check(ctx, []Need{need}, nil, nil), noInstall, w); err != nil {
		return "", err
	}
	path, err := Real.LookPath(need.Program)
	if err != nil {
		return "", fmt.Errorf("%s: installed %s, still not on PATH: %w", need.Program, need.Package, err)
	}
	return path, nil
}
