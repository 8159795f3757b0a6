package fuzz

// Minimize shrinks p while differs holds: calls dropped one at a time
// (the last first), then each argument made simpler (a value from its
// list nearer the start, a flag bit cleared, an offset pointer NULL),
// trying at most tries programs. differs must hold for p.
func Minimize(p Prog, differs func(Prog) bool, tries int) Prog {
	cur := p.Clone()
	try := func(q Prog) bool {
		if tries <= 0 {
			return false
		}
		tries--
		if differs(q) {
			cur = q
			return true
		}
		return false
	}
	for i := len(cur.Calls) - 1; i >= 0 && len(cur.Calls) > 1; i-- {
		q := cur.Clone()
		q.Calls = append(q.Calls[:i], q.Calls[i+1:]...)
		try(q)
	}
	for i := range cur.Calls {
		s := specs[cur.Calls[i].Op]
		for j, a := range s.Args {
			for _, v := range simpler(a, cur.Calls[i].Args[j]) {
				q := cur.Clone()
				q.Calls[i].Args[j] = v
				if try(q) {
					break
				}
			}
		}
	}
	return cur
}

// simpler lists the values to try instead of v, simplest first.
func simpler(a Arg, v int64) []int64 {
	var out []int64
	switch a.Kind {
	case Flags:
		if v != 0 {
			out = append(out, 0)
		}
		for bit := int64(1); bit != 0 && bit <= v; bit <<= 1 {
			if v&bit != 0 && v != bit {
				out = append(out, v&^bit)
			}
		}
	case Off:
		if v != NoOff {
			out = append(out, NoOff)
			if v != 0 {
				out = append(out, 0)
			}
		}
	case Value:
		for _, x := range a.Values {
			if x == v {
				break
			}
			out = append(out, x)
		}
	}
	return out
}
