package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/patchtest/patchtest/configs"
)

type fragment struct {
	name string
	data []byte
}

func loadFragments(names []string) ([]fragment, error) {
	all := append([]string{DefaultFragment}, names...)
	var out []fragment
	seen := map[string]bool{}
	for _, n := range all {
		if seen[n] {
			continue
		}
		seen[n] = true
		if st, err := os.Stat(n); err == nil && !st.IsDir() {
			b, err := os.ReadFile(n)
			if err != nil {
				return nil, err
			}
			out = append(out, fragment{name: n, data: b})
			continue
		}
		b, err := configs.KernelFragment(n)
		if err != nil {
			return nil, fmt.Errorf("config fragment %q: not a file, and %w", n, err)
		}
		out = append(out, fragment{name: n, data: b})
	}
	return out, nil
}

// configStamp records, beside out/.config, which config inputs made it
// and the hash of the result, so that a build with the same inputs skips
// the configuration steps (some 15 s of make on two cores).
const configStamp = ".patchtest-config"

// configKey hashes what determines the merged config: the source, the
// base, the fragments, and the series only where it touches a Kconfig
// file (a patched kernel then reuses the stock kernel's config).
func (p *plan) configKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", buildFormat, p.src.ID, p.baseKey())
	for _, f := range p.fragments {
		fmt.Fprintf(h, "%s %d\n", f.name, len(f.data))
		h.Write(f.data)
	}
	if p.series != nil {
		for _, f := range p.series.Files() {
			if strings.HasPrefix(filepath.Base(f), "Kconfig") {
				fmt.Fprintf(h, "series %s\n", p.series.Hash())
				break
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func configured(out, key string) bool {
	stamp, err := os.ReadFile(filepath.Join(out, configStamp))
	if err != nil {
		return false
	}
	cfg, err := hashFile(filepath.Join(out, ".config"))
	return err == nil && string(stamp) == key+" "+cfg
}

// configure writes out/.config: the base, the fragments merged with the
// kernel's merge_config.sh, olddefconfig, and a check that every requested
// option stuck.
func (b *Builder) configure(ctx context.Context, p *plan, src, out string, cc *compilerCache, log io.Writer) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	key := p.configKey()
	if configured(out, key) {
		b.progress("config unchanged: %s + %s", p.base, strings.Join(fragmentNames(p.fragments), " + "))
		return nil
	}
	os.Remove(filepath.Join(out, configStamp))
	if p.config != nil {
		b.progress("configuring: %s (olddefconfig)", p.base)
		if err := os.WriteFile(filepath.Join(out, ".config"), p.config, 0o644); err != nil {
			return err
		}
		if err := b.make(ctx, src, out, log, cc, "olddefconfig"); err != nil {
			return fmt.Errorf("make olddefconfig: %w", err)
		}
		return b.stampConfig(out, key)
	}
	b.progress("configuring: %s + %s", p.base, strings.Join(fragmentNames(p.fragments), " + "))
	if err := b.make(ctx, src, out, log, cc, p.base); err != nil {
		return fmt.Errorf("make %s: %w", p.base, err)
	}
	fragDir := filepath.Join(filepath.Dir(out), "fragments")
	os.RemoveAll(fragDir)
	if err := os.MkdirAll(fragDir, 0o755); err != nil {
		return err
	}
	args := []string{"-m", "-O", out, filepath.Join(out, ".config")}
	for i, f := range p.fragments {
		path := filepath.Join(fragDir, fmt.Sprintf("%02d-%s.config", i, sanitize(f.name)))
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
		args = append(args, path)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(src, "scripts/kconfig/merge_config.sh"), args...)
	cmd.Dir = src
	cmd.Env = makeEnv()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("merge_config.sh: %w", err)
	}
	if err := b.make(ctx, src, out, log, cc, "olddefconfig"); err != nil {
		return fmt.Errorf("make olddefconfig: %w", err)
	}
	if err := verifyConfig(filepath.Join(out, ".config"), p.fragments); err != nil {
		return err
	}
	return b.stampConfig(out, key)
}

// stampConfig records that out/.config is the configuration of key.
func (b *Builder) stampConfig(out, key string) error {
	cfg, err := hashFile(filepath.Join(out, ".config"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, configStamp), []byte(key+" "+cfg), 0o644)
}

func fragmentNames(fs []fragment) []string {
	var n []string
	for _, f := range fs {
		n = append(n, f.name)
	}
	return n
}

// parseConfig reads a .config or fragment into option → value ("n" for
// "is not set").
func parseConfig(data []byte) (map[string]string, []string) {
	vals := map[string]string{}
	var order []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if m := setRe.FindStringSubmatch(l); m != nil {
			vals[m[1]] = m[2]
			order = append(order, m[1])
		} else if m := unsetRe.FindStringSubmatch(l); m != nil {
			vals[m[1]] = "n"
			order = append(order, m[1])
		}
	}
	return vals, order
}

// verifyConfig checks that every option the fragments ask for has the
// requested value in the final config.
func verifyConfig(path string, frags []fragment) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	have, _ := parseConfig(data)
	var missing []ConfigMismatch
	want := map[string]ConfigMismatch{}
	var order []string
	for _, f := range frags {
		vals, ord := parseConfig(f.data)
		for _, o := range ord {
			if _, ok := want[o]; !ok {
				order = append(order, o)
			}
			want[o] = ConfigMismatch{Option: o, Want: vals[o], Fragment: f.name} // later fragments win
		}
	}
	for _, o := range order {
		w := want[o]
		got, ok := have[o]
		if !ok {
			got = "n"
		}
		if got != w.Want {
			if got != "n" {
				w.Got = got
			}
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return &ConfigError{Missing: missing, Config: path}
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitize(s string) string { return unsafeChars.ReplaceAllString(filepath.Base(s), "_") }

var (
	setRe   = regexp.MustCompile(`^(CONFIG_[A-Za-z0-9_]+)=(.*)$`)
	unsetRe = regexp.MustCompile(`^# (CONFIG_[A-Za-z0-9_]+) is not set$`)
)
