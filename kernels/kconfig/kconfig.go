// Package kconfig reads a kernel's build configuration (.config) from
// wherever it can be found — a build record, the files kept beside an
// image, the copy CONFIG_IKCONFIG embeds in it — and says what a kernel
// with it can and cannot report, and how two configurations differ.
package kconfig

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Config is a kernel's build configuration (.config), as far as it
// could be found.
type Config struct {
	// Options maps each set option (CONFIG_FOO) to its value: y, m, a
	// number or a quoted string. An option that is not set is absent.
	Options map[string]string `json:"-"`
	// From says where it was read: a file, or "embedded (IKCONFIG)".
	From string `json:"from"`
}

// Value is an option's value, "" when it is not set.
func (c *Config) Value(opt string) string { return c.Options[opt] }

// Enabled reports whether opt is built in or a module.
func (c *Config) Enabled(opt string) bool {
	v := c.Options[opt]
	return v == "y" || v == "m"
}

// Parse reads a .config: "CONFIG_FOO=y" lines, "# CONFIG_FOO is not
// set" and comments ignored.
func Parse(r io.Reader, from string) (*Config, error) {
	c := &Config{Options: map[string]string{}, From: from}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || !strings.HasPrefix(k, "CONFIG_") {
			return nil, fmt.Errorf("%s: not a kernel configuration (line %q)", from, l)
		}
		c.Options[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	if len(c.Options) == 0 {
		return nil, fmt.Errorf("%s: no options", from)
	}
	return c, nil
}

// ReadFile parses the configuration in file p.
func ReadFile(p string) (*Config, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, p)
}

// ConfigFor finds the configuration a kernel image was built with, trying
// in turn: the build record's config, the files that sit beside an image
// by convention (/boot/config-RELEASE beside /boot/vmlinuz-RELEASE, a
// build cache's config, a tree's .config above arch/x86/boot/bzImage), and
// the copy embedded in the image by CONFIG_IKCONFIG. It returns nil, nil
// when the image carries none and none is beside it.
func ConfigFor(image, buildConfig string) (*Config, error) {
	var candidates []string
	if buildConfig != "" {
		candidates = append(candidates, buildConfig)
	}
	dir, base := filepath.Split(image)
	if rel, ok := strings.CutPrefix(base, "vmlinuz-"); ok {
		candidates = append(candidates, filepath.Join(dir, "config-"+rel))
	}
	candidates = append(candidates, filepath.Join(dir, "config"), filepath.Join(dir, ".config"))
	if root, ok := strings.CutSuffix(filepath.Clean(image), filepath.Join("arch", "x86", "boot", "bzImage")); ok {
		candidates = append(candidates, filepath.Join(root, ".config"))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		return ReadFile(p)
	}
	c, err := EmbeddedConfig(image)
	if errors.Is(err, errNoIKConfig) {
		return nil, nil
	}
	return c, err
}

var errNoIKConfig = errors.New("no embedded configuration (CONFIG_IKCONFIG)")

// ikconfig markers: the configuration sits gzip-compressed between them
// in the kernel's data.
var (
	ikStart = []byte("IKCFG_ST")
	ikEnd   = []byte("IKCFG_ED")
)

// payloadMagics start the compressed kernel inside a bzImage, for the
// compressions this decoder reads.
var payloadMagics = []struct {
	magic []byte
	open  func(io.Reader) (io.Reader, error)
}{
	{[]byte{0x1f, 0x8b, 0x08}, func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, func(r io.Reader) (io.Reader, error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }},
}

// maxVmlinux bounds a decompressed kernel.
const maxVmlinux = 512 << 20

// EmbeddedConfig extracts the configuration that CONFIG_IKCONFIG puts in
// the kernel: it finds the compressed kernel in the image (gzip, zstd or
// xz, as scripts/extract-ikconfig does), decompresses it, and unpacks the
// gzip between the IKCFG markers. An uncompressed vmlinux works too.
func EmbeddedConfig(image string) (*Config, error) {
	img, err := os.ReadFile(image)
	if err != nil {
		return nil, err
	}
	if c, err := ikconfigIn(img, image); err == nil || !errors.Is(err, errNoIKConfig) {
		return c, err
	}
	for _, p := range payloadMagics {
		for off := 0; ; {
			i := bytes.Index(img[off:], p.magic)
			if i < 0 {
				break
			}
			off += i
			r, err := p.open(bytes.NewReader(img[off:]))
			off++
			if err != nil {
				continue
			}
			vmlinux, _ := io.ReadAll(io.LimitReader(r, maxVmlinux))
			if len(vmlinux) < 1<<20 {
				continue // not the kernel (a small embedded blob)
			}
			return ikconfigIn(vmlinux, image)
		}
	}
	return nil, errNoIKConfig
}

func ikconfigIn(data []byte, image string) (*Config, error) {
	i := bytes.Index(data, ikStart)
	if i < 0 {
		return nil, errNoIKConfig
	}
	rest := data[i+len(ikStart):]
	j := bytes.Index(rest, ikEnd)
	if j < 0 {
		return nil, errNoIKConfig
	}
	zr, err := gzip.NewReader(bytes.NewReader(rest[:j]))
	if err != nil {
		return nil, fmt.Errorf("%s: embedded configuration: %w", image, err)
	}
	return Parse(zr, image+" (embedded, IKCONFIG)")
}

// ConfigDiff is one option that two configurations set differently.
type ConfigDiff struct {
	Option    string `json:"option"`
	Baseline  string `json:"baseline"`
	Candidate string `json:"candidate"`
}

func (d ConfigDiff) String() string {
	return fmt.Sprintf("%s: %s -> %s", d.Option, notSet(d.Baseline), notSet(d.Candidate))
}

func notSet(v string) string {
	if v == "" {
		return "not set"
	}
	return v
}

// DiffConfigs lists the options among opts that a and b set differently,
// in option order.
func DiffConfigs(a, b *Config, opts []string) []ConfigDiff {
	var out []ConfigDiff
	seen := map[string]bool{}
	for _, o := range opts {
		if seen[o] {
			continue
		}
		seen[o] = true
		if va, vb := a.Value(o), b.Value(o); va != vb {
			out = append(out, ConfigDiff{Option: o, Baseline: va, Candidate: vb})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Option < out[j].Option })
	return out
}
