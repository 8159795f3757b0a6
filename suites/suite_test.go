package suites

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCatalogue(t *testing.T) {
	cat := Catalogue()
	if n := len(cat.Cases()); n < 60 {
		t.Errorf("%d cases; the catalogue promises at least 60", n)
	}
	for _, c := range cat.Cases() {
		if c.Calls == "" {
			t.Errorf("%s: no syscall sequence", c.ID)
		}
	}
}

func TestRegistryRejects(t *testing.T) {
	for name, c := range map[string]*Case{
		"bad id":   {ID: "Vmsplice/x", Desc: "d", Run: func(*T) Observation { return Bool(true) }},
		"short id": {ID: "vmsplice/x", Desc: "d", Run: func(*T) Observation { return Bool(true) }},
		"no desc":  {ID: "a/b/c", Run: func(*T) Observation { return Bool(true) }},
		"no run":   {ID: "a/b/c", Desc: "d"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: accepted", name)
				}
			}()
			(&Registry{}).Add(c)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate accepted")
			}
		}()
		c := &Case{ID: "a/b/c", Desc: "d", Run: func(*T) Observation { return Bool(true) }}
		(&Registry{}).Add(c, c)
	}()
}

func TestSelect(t *testing.T) {
	r := &Registry{}
	for _, id := range []string{"vmsplice/alias/read", "vmsplice/alias/tee", "vmsplice/short/x", "splice/len/zero"} {
		r.Add(&Case{ID: id, Desc: "d", Run: func(*T) Observation { return Bool(true) }})
	}
	for _, tc := range []struct {
		patterns []string
		want     []string
		err      bool
	}{
		{nil, []string{"vmsplice/alias/read", "vmsplice/alias/tee", "vmsplice/short/x", "splice/len/zero"}, false},
		{[]string{"vmsplice/*"}, []string{"vmsplice/alias/read", "vmsplice/alias/tee", "vmsplice/short/x"}, false},
		{[]string{"vmsplice/alias/*"}, []string{"vmsplice/alias/read", "vmsplice/alias/tee"}, false},
		{[]string{"splice/len/zero", "vmsplice/alias/tee"}, []string{"vmsplice/alias/tee", "splice/len/zero"}, false},
		{[]string{"*/*/zero"}, []string{"splice/len/zero"}, false},
		{[]string{"tee/*"}, nil, true},
		{[]string{"[bad"}, nil, true},
	} {
		got, err := r.Select(tc.patterns...)
		if tc.err != (err != nil) {
			t.Errorf("Select(%q) err = %v", tc.patterns, err)
			continue
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("Select(%q) = %q; want %q", tc.patterns, ids, tc.want)
		}
	}
}

func TestObservations(t *testing.T) {
	for _, tc := range []struct {
		got  Observation
		want string
	}{
		{Result(4096, nil), "result:4096"},
		{Result(-1, unix.EAGAIN), "result:EAGAIN"},
		{Aliased(0, 10), "aliasing:copied"},
		{Aliased(10, 10), "aliasing:aliased"},
		{Aliased(3, 10), "aliasing:partial"},
		{Intact([]byte("ab"), []byte("ab")), "integrity:intact"},
		{Intact([]byte("ab"), []byte("ax")), "integrity:differs at byte 1"},
		{Intact([]byte("a"), []byte("ab")), "integrity:length 1, want 2"},
		{Seq("1", "EAGAIN"), "seq:1 → EAGAIN"},
		{Skip("no AF_ALG"), "skip:no AF_ALG"},
	} {
		if s := tc.got.String(); s != tc.want {
			t.Errorf("%s; want %s", s, tc.want)
		}
	}
	if ErrnoName(errors.New("x")) != "error" || ErrnoName(nil) != "ok" {
		t.Error("ErrnoName of non-errno")
	}
}

// A fake catalogue run through the real runner and stream reader: setup
// failures, panics, hangs, invariants and the final record.
func TestRunAndReadStream(t *testing.T) {
	cases := []*Case{
		{ID: "t/ok/pipe", Desc: "d", Run: func(t *T) Observation {
			r, w := t.Pipe(0)
			writeAll(w, []byte("hi"))
			return Intact(readAll(r, 2), []byte("hi"))
		}},
		{ID: "t/bad/setup", Desc: "d", Run: func(t *T) Observation { Must(errors.New("no such thing")); return Bool(true) }},
		{ID: "t/bad/panic", Desc: "d", Run: func(t *T) Observation { var m map[string]int; m["x"] = 1; return Bool(true) }},
		{ID: "t/bad/hang", Desc: "d", Timeout: 200 * time.Millisecond, Run: func(t *T) Observation { time.Sleep(time.Hour); return Bool(true) }},
		{ID: "t/bad/invariant", Desc: "d", Run: func(t *T) Observation { t.Check(false, "broken %d", 7); return Bool(false) }},
		{ID: "t/ok/blocked", Desc: "d", Run: func(t *T) Observation {
			r, _ := t.Pipe(0)
			return t.Blocking(func() (int, error) { return unix.Read(r, make([]byte, 1)) })
		}},
	}
	var buf bytes.Buffer
	if err := Run(&buf, cases, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	s, err := ReadStream(bytes.NewReader(buf.Bytes()), nil, func(r CaseResult) {
		v := r.Error
		if r.Obs != nil {
			v = r.Obs.String()
		}
		if len(r.Invariant) > 0 {
			v += " !" + r.Invariant[0]
		}
		if i := strings.IndexByte(v, '\n'); i > 0 {
			v = v[:i]
		}
		got = append(got, r.ID+"="+v)
	})
	if err != nil || !s.Complete || len(s.Planned) != len(cases) {
		t.Fatalf("stream: %v complete=%v planned=%d", err, s.Complete, len(s.Planned))
	}
	want := []string{
		"t/ok/pipe=integrity:intact",
		"t/bad/setup=setup: no such thing",
		"t/bad/panic=panic: assignment to entry in nil map",
		"t/bad/hang=hung: no result within 200ms",
		"t/bad/invariant=bool:no !broken 7",
		"t/ok/blocked=blocking:blocked",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Cut the stream inside the third case: truncated, the case in flight known.
	lines := strings.SplitAfter(buf.String(), "\n")
	cut := strings.Join(lines[:6], "") // hello, start, case, start, case, start
	s, err = ReadStream(strings.NewReader(cut), nil, nil)
	if !errors.Is(err, ErrTruncated) || s.InFlight != "t/bad/panic" || len(s.Results) != 2 {
		t.Errorf("truncated stream: err %v, in flight %q, %d results", err, s.InFlight, len(s.Results))
	}
	if _, err := ReadStream(strings.NewReader(`{"kind":"hello","version":99}`+"\n"), nil, nil); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("wrong version accepted: %v", err)
	}
}

func TestHiddenCases(t *testing.T) {
	cat := Catalogue()
	all, _ := cat.Select()
	for _, c := range all {
		if c.Hidden {
			t.Errorf("hidden case %s selected by default", c.ID)
		}
	}
	if got, _ := cat.Select("*/*"); len(got) != len(all) {
		t.Errorf("*/* selected %d cases, want the %d visible ones", len(got), len(all))
	}
	got, err := cat.Select("selftest/*")
	if err != nil || len(got) != 2 {
		t.Errorf("selftest/* = %d cases, %v", len(got), err)
	}
}

// Every group of the catalogue has an area on record.
func TestAreas(t *testing.T) {
	for _, c := range Catalogue().Cases() {
		if len(Area(c.ID)) == 0 {
			t.Errorf("%s: no area", c.ID)
		}
	}
}
