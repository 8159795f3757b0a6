package results

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// EventKind says what happened in a run.
type EventKind string

// The kinds of event a run emits, in the order they usually come.
const (
	EventBuild     EventKind = "build"      // a kernel is being built or found (Msg: the step)
	EventBuilt     EventKind = "built"      // a kernel is ready (Msg: its bzImage)
	EventBoot      EventKind = "boot"       // a machine is starting (Msg: the accelerator notice, if any)
	EventReady     EventKind = "ready"      // a machine's agent answered
	EventSuites    EventKind = "suites"     // the catalogue starts on a kernel (Total: cases)
	EventCase      EventKind = "case"       // a case finished (ID, Done, Total; Msg: its outcome)
	EventCrash     EventKind = "crash"      // a case brought the kernel down (ID, Msg: the report's first line)
	EventProblem   EventKind = "problem"    // a case broke an invariant, hung or made the kernel warn (ID, Msg)
	EventPerf      EventKind = "perf"       // the perf run starts (Total: samples)
	EventSample    EventKind = "sample"     // a perf sample arrived (ID, Done, Total)
	EventNotice    EventKind = "notice"     // anything else worth a line
	EventFinished  EventKind = "finished"   // the run is over (Msg: the verdict)
	EventIndexFail EventKind = "index-fail" // the results index could not be updated
)

// Event is one entry of a run's event stream: what drives the terminal
// view, the --json output and the run's events.jsonl log.
type Event struct {
	Time  time.Time `json:"time"`
	Kind  EventKind `json:"kind"`
	Side  string    `json:"side,omitempty"`
	ID    string    `json:"id,omitempty"`
	Done  int       `json:"done,omitempty"`
	Total int       `json:"total,omitempty"`
	Msg   string    `json:"msg,omitempty"`
}

func (e Event) String() string {
	var b strings.Builder
	if e.Side != "" {
		fmt.Fprintf(&b, "%s: ", e.Side)
	}
	switch e.Kind {
	case EventCase, EventSample:
		fmt.Fprintf(&b, "%s %d/%d %s", e.Kind, e.Done, e.Total, e.ID)
		if e.Msg != "" {
			fmt.Fprintf(&b, ": %s", e.Msg)
		}
	case EventCrash:
		fmt.Fprintf(&b, "case %s crashed the kernel: %s", e.ID, e.Msg)
	case EventProblem:
		fmt.Fprintf(&b, "%s: %s", e.ID, e.Msg)
	case EventSuites:
		fmt.Fprintf(&b, "running %d cases", e.Total)
	case EventPerf:
		fmt.Fprintf(&b, "perf: %d samples", e.Total)
	default:
		b.WriteString(e.Msg)
	}
	return b.String()
}

// eventLog keeps the stream for the run's folder.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) writeTo(w io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	enc := json.NewEncoder(w)
	for _, e := range l.events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// Progress renders the event stream for a person.
type Progress struct {
	w     io.Writer
	tty   bool
	color bool
	mu    sync.Mutex
	// status is the live line on a terminal, redrawn in place.
	status string
	// phase is when the current counted phase began, for the ETA.
	phaseKind  EventKind
	phaseSide  string
	phaseStart time.Time
	now        func() time.Time
}

// NewProgress renders events on w: on a terminal (tty) a live status line
// with a progress bar and ETA above which lasting lines scroll, coloured
// unless color is false (NO_COLOR); elsewhere one plain line per step,
// never per case.
func NewProgress(w io.Writer, tty, color bool) *Progress {
	return &Progress{w: w, tty: tty, color: color && tty, now: time.Now}
}

// Event renders one event.
func (p *Progress) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case EventCase, EventSample:
		// Cases run one kernel after the other; perf samples alternate.
		if p.phaseKind != e.Kind || (e.Kind == EventCase && p.phaseSide != e.Side) || e.Done <= 1 {
			p.phaseKind, p.phaseSide, p.phaseStart = e.Kind, e.Side, p.now()
		}
		if p.tty {
			p.setStatus(p.bar(e))
		}
		return
	case EventCrash, EventProblem:
		p.line(e.String(), true)
		return
	case EventIndexFail:
		p.line(e.Msg, true)
		return
	case EventBoot, EventReady:
		// In events.jsonl; on a terminal, the status line says it.
		if p.tty {
			p.setStatus(fmt.Sprintf("[%s] %s", e.Side, e.Msg))
		}
		return
	}
	p.line(e.String(), false)
}

// Close clears the live line.
func (p *Progress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.setStatus("")
	}
}

// line prints a lasting line above the status line.
func (p *Progress) line(s string, alarm bool) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if alarm && p.color {
		s = "\033[31m" + s + "\033[0m"
	}
	fmt.Fprintf(p.w, "patchtest: %s\n", s)
	if p.tty && p.status != "" {
		fmt.Fprint(p.w, p.status)
	}
}

func (p *Progress) setStatus(s string) {
	p.status = s
	fmt.Fprintf(p.w, "\r\033[K%s", s)
}

// bar renders "[candidate] cases  45/88 [#####.....]  51% ETA 3s  id".
func (p *Progress) bar(e Event) string {
	const width = 24
	frac := 0.0
	if e.Total > 0 {
		frac = float64(e.Done) / float64(e.Total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	if p.color {
		bar = "\033[32m" + strings.Repeat("#", filled) + "\033[2m" + strings.Repeat(".", width-filled) + "\033[0m"
	}
	eta := "?"
	if e.Done > 0 && e.Total >= e.Done {
		per := p.now().Sub(p.phaseStart) / time.Duration(e.Done)
		eta = (per * time.Duration(e.Total-e.Done)).Round(time.Second).String()
	}
	what := "cases"
	if e.Kind == EventSample {
		what = "perf"
	}
	id := e.ID
	if len(id) > 32 {
		id = "…" + id[len(id)-31:]
	}
	return fmt.Sprintf("[%s] %s %3d/%-3d [%s] %3.0f%% ETA %-5s %s", e.Side, what, e.Done, e.Total, bar, frac*100, eta, id)
}

// JSONLines writes the event stream to w as JSON Lines, each event as
// {"event": {...}}, and, through Record, the finished record as a last
// line {"record": {...}}: one stream a program can follow as it happens.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONLines returns a JSON Lines writer on w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{enc: json.NewEncoder(w)} }

// Event writes one event line.
func (j *JSONLines) Event(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.enc.Encode(struct {
		Event Event `json:"event"`
	}{e})
}

// Record writes the record line.
func (j *JSONLines) Record(r *Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.enc.Encode(struct {
		Record *Record `json:"record"`
	}{r})
}
