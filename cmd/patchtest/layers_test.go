package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layer is each top-level package's place in the pipeline: configs →
// kernels → vm → guest and suites → results → cmd.
var layer = map[string]int{"configs": 0, "kernels": 1, "vm": 2, "guest": 3, "suites": 3, "results": 4, "cmd": 5}

// imports returns the module's packages and the project packages each
// imports directly, named from the module root ("suites/runs").
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/patchtest/patchtest/"
	g := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		p := strings.TrimPrefix(f[0], mod)
		g[p] = nil
		for _, i := range f[1:] {
			if rest, ok := strings.CutPrefix(i, mod); ok {
				g[p] = append(g[p], rest)
			}
		}
	}
	return g
}

// The package graph runs one way: no package imports one further down
// the pipeline, unless that one is a leaf (it imports nothing of the
// project: a wire protocol, the run model); the run model is a leaf;
// results and what is under it reach neither the builder, the runner nor
// the configuration, directly or not.
func TestLayers(t *testing.T) {
	g := imports(t)
	if len(g) < 20 {
		t.Fatalf("go list named %d packages", len(g))
	}
	leaf := func(p string) bool { return len(g[p]) == 0 }
	for p, imps := range g {
		for _, i := range imps {
			top, itop := strings.Split(p, "/")[0], strings.Split(i, "/")[0]
			lp, ok1 := layer[top]
			li, ok2 := layer[itop]
			if !ok1 || !ok2 {
				t.Errorf("%s → %s: a top-level folder with no layer", p, i)
				continue
			}
			if li > lp && !leaf(i) {
				t.Errorf("%s imports %s, further down the pipeline", p, i)
			}
		}
	}
	if !leaf("suites/runs") {
		t.Errorf("the run model imports %q; it must import nothing of the project", g["suites/runs"])
	}
	for p := range g {
		if p != "results" && !strings.HasPrefix(p, "results/") {
			continue
		}
		seen := map[string]bool{}
		var walk func(string)
		walk = func(q string) {
			for _, i := range g[q] {
				if !seen[i] {
					seen[i] = true
					walk(i)
				}
			}
		}
		walk(p)
		for i := range seen {
			if top := strings.Split(i, "/")[0]; slices.Contains([]string{"vm", "kernels", "configs", "cmd"}, top) {
				t.Errorf("%s reaches %s", p, i)
			}
		}
	}
}
