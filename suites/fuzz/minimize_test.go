package fuzz

import "testing"

// The minimizer keeps only what the difference needs: with an oracle
// that "differs" while the program has a vmsplice of at least 4096
// bytes after a pipe2, every other call goes and the length drops to
// 4096, the flags to what the oracle needs.
func TestMinimize(t *testing.T) {
	g := NewGenerator(3)
	p := Prog{Calls: []Call{{"pipe2", []int64{0, 1, oNONBLOCK}}, {"mmap", []int64{0, 16}}}}
	for range 6 {
		p.Calls = append(p.Calls, g.Generate().Calls...)
	}
	p.Calls = append(p.Calls, Call{"vmsplice", []int64{1, 0, 100, 65537, 17, spliceGift | spliceNonblock}})
	runs := 0
	differs := func(q Prog) bool {
		runs++
		pipe := false
		for _, c := range q.Calls {
			switch {
			case c.Op == "pipe2":
				pipe = true
			case c.Op == "vmsplice" && pipe && c.Args[3] >= 4096 && c.Args[5]&spliceNonblock != 0:
				return true
			}
		}
		return false
	}
	if !differs(p) {
		t.Fatal("oracle does not hold for the program")
	}
	got := Minimize(p, differs, 500)
	if got.Shape() != "pipe2-vmsplice" {
		t.Fatalf("minimized to %s: %v", got.Shape(), got.Calls)
	}
	v := got.Calls[1]
	if v.Args[3] != 4096 || v.Args[5] != spliceNonblock || v.Args[2] != 0 || v.Args[4] != 1 {
		t.Errorf("vmsplice not shrunk: %s", v)
	}
	if got.Calls[0].Args[2] != 0 {
		t.Errorf("pipe2's flags kept: %s", got.Calls[0])
	}
	// The budget holds.
	runs = 0
	Minimize(p, differs, 5)
	if runs > 5 {
		t.Errorf("%d tries with a budget of 5", runs)
	}
}
