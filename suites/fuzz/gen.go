package fuzz

import (
	"math/rand/v2"
	"sort"
)

// MaxCalls bounds a program's length.
const MaxCalls = 14

// Generator draws programs from a seed: the same seed gives the same
// programs, in the same order, whatever the machine.
type Generator struct {
	r    *rand.Rand
	uses []string // non-creating operations, each Weight times
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	g := &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, op := range Ops() {
		for range specs[op].Weight {
			g.uses = append(g.uses, op)
		}
	}
	for range hupWeight {
		g.uses = append(g.uses, hup)
	}
	return g
}

// hup is the generator's own step "hang up a peer": a close of the other
// end of a live pipe or socket pair, so that the family's calls meet a
// pipe without writers or readers and a socket without its peer — the
// states where EOF, EAGAIN, EPIPE and SIGPIPE part — as often as a
// full or empty one. A program holds it as the close it is.
const (
	hup       = "hup"
	hupWeight = 6
)

// creators and their odds: pipes above all, the family's centre.
var creators = []string{"pipe2", "pipe2", "pipe2", "pipe2", "file", "file", "memfd", "socketpair", "tcp", "eventfd"}

// Generate returns a new program: one to three descriptors made, a
// buffer mapped when a vmsplice wants one, then up to eight calls on them.
func (g *Generator) Generate() Prog {
	var p Prog
	st := &state{}
	for range 1 + g.r.IntN(3) {
		g.appendCall(&p, st, creators[g.r.IntN(len(creators))])
	}
	for range 1 + g.r.IntN(8) {
		op := g.uses[g.r.IntN(len(g.uses))]
		if op == "vmsplice" && len(st.bufs) == 0 && g.r.IntN(5) > 0 {
			g.appendCall(&p, st, "mmap")
		}
		g.appendCall(&p, st, op)
	}
	return p
}

// Mutate returns a variant of p: one argument drawn again, a call
// inserted, dropped or repeated.
func (g *Generator) Mutate(p Prog) Prog {
	q := p.Clone()
	if len(q.Calls) == 0 {
		return g.Generate()
	}
	switch k := g.r.IntN(4); {
	case k == 0 && len(q.Calls) < MaxCalls: // insert
		at := 1 + g.r.IntN(len(q.Calls))
		st := stateAt(q, at)
		var extra Prog
		g.appendCall(&extra, st, g.uses[g.r.IntN(len(g.uses))])
		q.Calls = append(q.Calls[:at], append(extra.Calls, q.Calls[at:]...)...)
	case k == 1 && len(q.Calls) > 1: // drop
		at := g.r.IntN(len(q.Calls))
		q.Calls = append(q.Calls[:at], q.Calls[at+1:]...)
	case k == 2 && len(q.Calls) < MaxCalls: // repeat
		at := g.r.IntN(len(q.Calls))
		c := q.Calls[at]
		dup := Call{Op: c.Op, Args: append([]int64(nil), c.Args...)}
		q.Calls = append(q.Calls[:at+1], append([]Call{dup}, q.Calls[at+1:]...)...)
	default: // one argument again
		at := g.r.IntN(len(q.Calls))
		c := &q.Calls[at]
		s := specs[c.Op]
		if len(s.Args) == 0 {
			break
		}
		j := g.r.IntN(len(s.Args))
		if s.Args[j].Kind == NewFd {
			break
		}
		c.Args[j] = g.arg(stateAt(q, at), s.Args[j])
	}
	if len(q.Calls) > MaxCalls {
		q.Calls = q.Calls[:MaxCalls]
	}
	return q
}

// state is what a program has made so far: each live descriptor slot's
// kind, its pair's other end and whether that end is closed, and the
// mapped buffers.
type state struct {
	kinds [FdSlots]string
	peer  [FdSlots]int  // the pair's other slot + 1; 0 when none
	hung  [FdSlots]bool // the other end was closed
	fed   [FdSlots]bool // something was written to the other end
	next  int
	bufs  []int64
}

// pair records a and b as the two ends of one pipe or socket pair.
func (st *state) pair(a, b int64) {
	st.unpair(a)
	st.unpair(b)
	st.peer[a], st.peer[b] = int(b)+1, int(a)+1
}

// unpair forgets slot s's pair, as its descriptor is replaced: the old
// other end stays open in the executor, so its peer is not hung up.
func (st *state) unpair(s int64) {
	for i := range st.peer {
		if st.peer[i] == int(s)+1 {
			st.peer[i] = 0
		}
	}
	st.peer[s], st.hung[s], st.fed[s] = 0, false, false
}

// hangUp records slot s closed: its pair's other end is hung up.
func (st *state) hangUp(s int64) {
	if p := st.peer[s]; p != 0 && st.peer[p-1] == int(s)+1 {
		st.hung[p-1] = true
		st.peer[p-1] = 0
	}
	st.peer[s], st.hung[s], st.fed[s] = 0, false, false
}

// wrote records a call that wrote to slot s: the other end of its pair
// now holds data to take.
func (st *state) wrote(s int64) {
	if p := st.peer[s]; p != 0 && st.kinds[s] != "pipe-rd" {
		st.fed[p-1] = true
	}
}

// writesTo gives, per operation that writes to a descriptor, the index
// of that descriptor's argument.
var writesTo = map[string]int{"write": 0, "writev": 0, "pwritev2": 0, "vmsplice": 0, "splice": 2, "tee": 1, "sendfile": 0}

// kind is what slot s holds: "pipe-rd", "pipe-wr", "file", "sock",
// "event", "" when closed or never made, with "/hup" when the other end
// of its pair is closed.
func (st *state) kind(s int64) string {
	if s < 0 || s >= FdSlots || st.kinds[s] == "" {
		return ""
	}
	if st.hung[s] {
		return st.kinds[s] + "/hup"
	}
	return st.kinds[s]
}

func stateAt(p Prog, n int) *state {
	st := &state{}
	for _, c := range p.Calls[:n] {
		st.apply(c)
	}
	return st
}

func (st *state) apply(c Call) {
	s := specs[c.Op]
	switch {
	case c.Op == "pipe2":
		st.kinds[c.Args[0]], st.kinds[c.Args[1]] = "pipe-rd", "pipe-wr"
		st.pair(c.Args[0], c.Args[1])
	case s.Makes != "":
		var made []int64
		for i, a := range s.Args {
			if a.Kind == NewFd {
				st.kinds[c.Args[i]] = s.Makes
				st.unpair(c.Args[i])
				made = append(made, c.Args[i])
			}
		}
		if len(made) == 2 {
			st.pair(made[0], made[1])
		}
	case c.Op == "close":
		st.kinds[c.Args[0]] = ""
		st.hangUp(c.Args[0])
	case c.Op == "mmap" || c.Op == "mremap":
		st.bufs = appendUnique(st.bufs, c.Args[0])
	case c.Op == "munmap":
		st.bufs = remove(st.bufs, c.Args[0])
	}
	if j, ok := writesTo[c.Op]; ok {
		st.wrote(c.Args[j])
	}
	for i, a := range s.Args {
		if a.Kind == NewFd && int(c.Args[i]) >= st.next {
			st.next = int(c.Args[i]) + 1
		}
	}
}

func (g *Generator) appendCall(p *Prog, st *state, op string) {
	if op == hup {
		var ends []int64
		for i := range st.kinds {
			if q := st.peer[i]; st.kinds[i] != "" && q != 0 && st.kinds[q-1] != "" {
				ends = append(ends, int64(q-1))
			}
		}
		op = "close"
		if len(ends) > 0 {
			c := Call{Op: op, Args: []int64{ends[g.r.IntN(len(ends))]}}
			st.apply(c)
			p.Calls = append(p.Calls, c)
			return
		}
	}
	s := specs[op]
	c := Call{Op: op, Args: make([]int64, len(s.Args))}
	for i, a := range s.Args {
		if a.Kind == NewFd {
			slot := st.next
			if slot >= FdSlots {
				slot = g.r.IntN(FdSlots)
			}
			st.next = slot + 1
			c.Args[i] = int64(slot)
			continue
		}
		c.Args[i] = g.arg(st, a)
	}
	if op == "mmap" && len(st.bufs) < BufSlots && g.r.IntN(4) > 0 {
		c.Args[0] = int64(len(st.bufs)) // a fresh buffer, mostly
	}
	if op == "splice" && !isPipe(st.kinds[c.Args[0]]) && !isPipe(st.kinds[c.Args[2]]) && g.r.IntN(4) > 0 {
		// splice wants a pipe at one end: mostly give it one, so that
		// the calls reach the family rather than its first EINVAL.
		if g.r.IntN(2) == 0 {
			c.Args[0] = g.arg(st, Arg{Kind: Fd, Want: "pipe-in"})
		} else {
			c.Args[2] = g.arg(st, Arg{Kind: Fd, Want: "pipe-out"})
		}
	}
	st.apply(c)
	p.Calls = append(p.Calls, c)
}

// arg draws one argument: a live descriptor of the kind wanted, mostly,
// else any slot (a closed or wrong descriptor is an edge too); values
// from the argument's list; flags one value or two or'ed.
func (g *Generator) arg(st *state, a Arg) int64 {
	switch a.Kind {
	case Fd:
		var want, live []int64
		for i, k := range st.kinds {
			if k == "" {
				continue
			}
			live = append(live, int64(i))
			if fits(a.Want, k) {
				want = append(want, int64(i))
			}
		}
		if a.Want == "in" || a.Want == "pipe-in" {
			// Take, three times in four, from where something was put: the
			// paths that move part of a buffer, and what is left after.
			var fed []int64
			for _, i := range want {
				if st.fed[i] {
					fed = append(fed, i)
				}
			}
			if len(fed) > 0 && g.r.IntN(4) > 0 {
				return fed[g.r.IntN(len(fed))]
			}
		}
		switch n := g.r.IntN(20); {
		case n < 16 && len(want) > 0:
			return want[g.r.IntN(len(want))]
		case n < 19 && len(live) > 0:
			return live[g.r.IntN(len(live))]
		}
		return int64(g.r.IntN(FdSlots))
	case Buf:
		if len(st.bufs) > 0 && g.r.IntN(10) > 0 {
			return st.bufs[g.r.IntN(len(st.bufs))]
		}
		return int64(g.r.IntN(BufSlots))
	case Off:
		if g.r.IntN(2) == 0 {
			return NoOff
		}
	case Flags:
		v := a.Values[g.r.IntN(len(a.Values))]
		if g.r.IntN(4) == 0 {
			v |= a.Values[g.r.IntN(len(a.Values))]
		}
		return v
	}
	return a.Values[g.r.IntN(len(a.Values))]
}

func isPipe(k string) bool { return k == "pipe-rd" || k == "pipe-wr" }

// fits says whether a descriptor of kind k suits an argument that wants w.
func fits(w, k string) bool {
	switch w {
	case "":
		return true
	case "in":
		return k != "pipe-wr"
	case "out":
		return k != "pipe-rd" && k != "event"
	case "pipe":
		return k == "pipe-rd" || k == "pipe-wr"
	case "pipe-in":
		return k == "pipe-rd"
	case "pipe-out":
		return k == "pipe-wr"
	}
	return k == w
}

func appendUnique(s []int64, v int64) []int64 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func remove(s []int64, v int64) []int64 {
	out := s[:0:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
