package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Compiler returns the first line of gcc --version.
func Compiler(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "gcc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("gcc --version: %w (install build-essential)", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}

// plan is a resolved request.
type plan struct {
	src       Source
	series    *Series
	base      string
	fragments []fragment
	// config is a whole .config given instead of base and fragments.
	config   []byte
	compiler string
	key      string
}

func (b *Builder) plan(ctx context.Context, req Request) (*plan, error) {
	p := &plan{base: req.Base}
	if p.base == "" {
		p.base = "tinyconfig"
	}
	if !contains(Bases, p.base) {
		return nil, &InputError{fmt.Errorf("config base %q: want one of %s", p.base, strings.Join(Bases, ", "))}
	}
	if req.Config != "" {
		data, err := os.ReadFile(req.Config)
		if err != nil {
			return nil, &InputError{fmt.Errorf("kernel config: %w", err)}
		}
		p.config, p.base = data, "config "+req.Config
	}
	spec := req.Source
	if spec == "" {
		spec = DefaultSource
	}
	src, err := ParseSource(spec)
	if err != nil {
		return nil, &InputError{err}
	}
	if err := src.Identify(ctx, b.CacheDir); err != nil {
		return nil, &InputError{err}
	}
	p.src = src
	if req.Patches != "" {
		s, err := LoadSeries(req.Patches)
		if err != nil {
			return nil, &InputError{err}
		}
		if req.PatchCount < 0 || req.PatchCount > len(s.Patches) {
			return nil, &InputError{fmt.Errorf("series %s has %d patches: no prefix of %d", req.Patches, len(s.Patches), req.PatchCount)}
		}
		if req.PatchCount > 0 {
			s.Patches = s.Patches[:req.PatchCount]
		}
		p.series = &s
	}
	if p.config == nil {
		if p.fragments, err = loadFragments(req.Fragments); err != nil {
			return nil, &InputError{err}
		}
	}
	if p.compiler, err = Compiler(ctx); err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\narch x86_64\nsource %s\nbase %s\ncompiler %s\n", buildFormat, src.ID, p.baseKey(), p.compiler)
	for _, f := range p.fragments {
		fmt.Fprintf(h, "fragment %d\n", len(f.data))
		h.Write(f.data)
	}
	if p.series != nil {
		fmt.Fprintf(h, "series %s\n", p.series.Hash())
	}
	p.key = hex.EncodeToString(h.Sum(nil))[:24]
	return p, nil
}

// baseKey identifies the configuration's starting point: the base's
// name, or the given .config's content.
func (p *plan) baseKey() string {
	if p.config == nil {
		return p.base
	}
	sum := sha256.Sum256(p.config)
	return "config " + hex.EncodeToString(sum[:])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
