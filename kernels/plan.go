package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
	compiler  string
	key       string
}

func (b *Builder) plan(ctx context.Context, req Request) (*plan, error) {
	p := &plan{base: req.Base}
	if p.base == "" {
		p.base = "tinyconfig"
	}
	if !contains(Bases, p.base) {
		return nil, &InputError{fmt.Errorf("config base %q: want one of %s", p.base, strings.Join(Bases, ", "))}
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
		p.series = &s
	}
	if p.fragments, err = loadFragments(req.Fragments); err != nil {
		return nil, &InputError{err}
	}
	if p.compiler, err = Compiler(ctx); err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\narch x86_64\nsource %s\nbase %s\ncompiler %s\n", buildFormat, src.ID, p.base, p.compiler)
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
