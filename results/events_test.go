package results

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false, true)
	for i := 1; i <= 3; i++ {
		p.Event(Event{Kind: EventCase, Side: "baseline", ID: "a/b/c", Done: i, Total: 3})
	}
	p.Event(Event{Kind: EventBoot, Side: "baseline", Msg: "QEMU started"})
	p.Event(Event{Kind: EventCrash, Side: "candidate", ID: "a/b/d", Msg: "Kernel panic"})
	p.Event(Event{Kind: EventNotice, Msg: "hello"})
	p.Close()
	want := "patchtest: candidate: case a/b/d crashed the kernel: Kernel panic\npatchtest: hello\n"
	if b.String() != want {
		t.Errorf("plain output %q, want %q (no per-case lines, no escapes, no colour)", b.String(), want)
	}
}

func TestProgressTTY(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, true, false) // NO_COLOR
	clock := time.Unix(0, 0)
	p.now = func() time.Time { return clock }
	p.Event(Event{Kind: EventCase, Side: "candidate", ID: "a/b/c", Done: 1, Total: 4})
	clock = clock.Add(2 * time.Second)
	p.Event(Event{Kind: EventCase, Side: "candidate", ID: "a/b/d", Done: 2, Total: 4})
	p.Event(Event{Kind: EventProblem, Side: "candidate", ID: "a/b/d", Msg: "invariant failed: x"})
	out := b.String()
	for _, want := range []string{"\r\033[K[candidate] cases   2/4", "[############............]  50%", "ETA 2s", "patchtest: candidate: a/b/d: invariant failed: x\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("TTY output lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "\033[3") {
		t.Errorf("colour with NO_COLOR: %q", out)
	}
	// The status line comes back after a lasting line.
	if !strings.HasSuffix(out, "a/b/d") {
		t.Errorf("status line not redrawn: %q", out)
	}
}

func TestJSONLines(t *testing.T) {
	var b bytes.Buffer
	j := NewJSONLines(&b)
	j.Event(Event{Kind: EventCase, Side: "baseline", ID: "a/b/c", Done: 1, Total: 2})
	if err := j.Record(&Record{Schema: SchemaVersion, ID: "x"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"event":{`) || !strings.HasPrefix(lines[1], `{"record":{"schema":2`) {
		t.Errorf("JSON Lines:\n%s", b.String())
	}
}
