// Package kernels is where patchtest's kernels come from: a bzImage the
// user gives, a Debian linux-image package, or a source tree with a patch
// series and config fragments, built and cached.
package kernels

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DebianFlavours maps the short names patchtest accepts to the Debian
// linux-image packages they stand for (newest version wins).
var DebianFlavours = map[string]*regexp.Regexp{
	// 6.12 from bookworm-backports/updates: virtio drivers built in.
	"6.12-amd64": regexp.MustCompile(`^linux-image-6\.12\.[0-9.]+\+deb12-amd64-unsigned$`),
	// bookworm's cloud kernel: virtio drivers are modules.
	"6.1-cloud": regexp.MustCompile(`^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$`),
}

// DebianImage is an unpacked Debian linux-image package.
type DebianImage struct {
	Package string // e.g. linux-image-6.1.0-57-cloud-amd64-unsigned
	Version string // the package version, e.g. 6.1.192-3
	Release string // uname -r, e.g. 6.1.0-57-cloud-amd64
	Dir     string // where it is unpacked
	Kernel  string // the bzImage (boot/vmlinuz-*)
	Modules string // lib/modules/RELEASE
}

// FetchDebianImage returns the newest package of flavour, downloaded with
// apt-get download and unpacked under cacheDir/debian. An unpacked package
// in the cache is used as it is; when apt cannot be asked (offline), the
// newest cached one is used.
func FetchDebianImage(ctx context.Context, cacheDir, flavour string) (DebianImage, error) {
	re, ok := DebianFlavours[flavour]
	if !ok {
		var names []string
		for n := range DebianFlavours {
			names = append(names, n)
		}
		sort.Strings(names)
		return DebianImage{}, fmt.Errorf("debian kernel %q: unknown flavour; want one of %s", flavour, strings.Join(names, ", "))
	}
	dir := filepath.Join(cacheDir, "debian")
	pkg, version, aptErr := newestPackage(ctx, re)
	if aptErr != nil {
		if img, err := newestCached(dir, re); err == nil {
			return img, nil
		}
		return DebianImage{}, fmt.Errorf("debian kernel %s: %w", flavour, aptErr)
	}
	out := filepath.Join(dir, pkg+"_"+version)
	if img, err := openImage(out); err == nil {
		return img, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return DebianImage{}, err
	}
	tmp, err := os.MkdirTemp(dir, ".fetch-")
	if err != nil {
		return DebianImage{}, err
	}
	defer os.RemoveAll(tmp)
	dl := exec.CommandContext(ctx, "apt-get", "download", pkg+"="+version)
	dl.Dir = tmp
	if b, err := dl.CombinedOutput(); err != nil {
		return DebianImage{}, fmt.Errorf("apt-get download %s=%s: %w\n%s", pkg, version, err, bytes.TrimSpace(b))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return DebianImage{}, fmt.Errorf("apt-get download %s: no .deb file appeared", pkg)
	}
	root := filepath.Join(tmp, "root")
	if b, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return DebianImage{}, fmt.Errorf("dpkg-deb -x %s: %w\n%s", debs[0], err, bytes.TrimSpace(b))
	}
	if _, err := openImage(root); err != nil {
		return DebianImage{}, fmt.Errorf("%s: %w", pkg, err)
	}
	if err := os.Rename(root, out); err != nil && !errors.Is(err, os.ErrExist) {
		if _, statErr := os.Stat(out); statErr != nil {
			return DebianImage{}, err
		}
	}
	return openImage(out)
}

// newestPackage asks apt for the newest package whose name matches re.
func newestPackage(ctx context.Context, re *regexp.Regexp) (name, version string, err error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "search", "--names-only", re.String()).Output()
	if err != nil {
		return "", "", fmt.Errorf("apt-cache search: %w (is this a Debian system with apt?)", err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && re.MatchString(f[0]) {
			names = append(names, f[0])
		}
	}
	if len(names) == 0 {
		return "", "", fmt.Errorf("apt knows no package matching %s; run apt-get update", re)
	}
	sortVersions(names)
	name = names[len(names)-1]
	if version, err = aptCandidate(ctx, name); err != nil {
		return "", "", err
	}
	return name, version, nil
}

// sortVersions orders names by the numbers in them, so that 6.1.0-57 sorts
// after 6.1.0-9.
func sortVersions(names []string) {
	num := regexp.MustCompile(`[0-9]+`)
	key := func(s string) string {
		return num.ReplaceAllStringFunc(s, func(n string) string { return fmt.Sprintf("%08s", n) })
	}
	sort.Slice(names, func(i, j int) bool { return key(names[i]) < key(names[j]) })
}

func newestCached(dir string, re *regexp.Regexp) (DebianImage, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return DebianImage{}, err
	}
	var names []string
	for _, e := range ents {
		if pkg, _, ok := strings.Cut(e.Name(), "_"); ok && re.MatchString(pkg) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return DebianImage{}, errors.New("none cached")
	}
	sortVersions(names)
	return openImage(filepath.Join(dir, names[len(names)-1]))
}

// openImage finds the kernel and modules in an unpacked package.
func openImage(dir string) (DebianImage, error) {
	kernels, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return DebianImage{}, fmt.Errorf("%s: want one boot/vmlinuz-*, found %d", dir, len(kernels))
	}
	release := strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-")
	img := DebianImage{Dir: dir, Kernel: kernels[0], Release: release, Modules: filepath.Join(dir, "lib", "modules", release)}
	if base := filepath.Base(dir); strings.Contains(base, "_") {
		img.Package, img.Version, _ = strings.Cut(base, "_")
	}
	if _, err := os.Stat(img.Modules); err != nil {
		return DebianImage{}, fmt.Errorf("%s: no modules for %s: %w", dir, release, err)
	}
	return img, nil
}

// Resolved is a kernel ready to boot: its bzImage and, when it has its
// modules beside it, their tree.
type Resolved struct {
	Kernel  string
	Modules string
	// Desc names where the kernel came from, for reports.
	Desc string
}

// Resolve turns a --kernel argument into a kernel: "debian:FLAVOUR" is a
// Debian package fetched into cacheDir (its modules come with it);
// anything else is the path of a bzImage.
func Resolve(ctx context.Context, arg, cacheDir string) (Resolved, error) {
	if flavour, ok := strings.CutPrefix(arg, "debian:"); ok {
		img, err := FetchDebianImage(ctx, cacheDir, flavour)
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Kernel: img.Kernel, Modules: img.Modules, Desc: img.Package + " " + img.Version}, nil
	}
	return Resolved{Kernel: arg, Desc: arg}, nil
}
