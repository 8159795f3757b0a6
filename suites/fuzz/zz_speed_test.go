package fuzz

import (
	"strings"
	"testing"
	"time"
)

func TestZZSpeed(t *testing.T) {
	g := NewGenerator(3)
	start := time.Now()
	blocked, calls := 0, 0
	for range 300 {
		p := g.Generate()
		calls += len(p.Calls)
		tr := runHost(t, p)
		if strings.HasSuffix(tr[len(tr)-1], "blocked") {
			blocked++
		}
	}
	t.Logf("300 programs %v, %d calls, %d blocked", time.Since(start), calls, blocked)
}
