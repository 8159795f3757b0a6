package suites

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/patchtest/patchtest/suites/runs"
)

// StreamVersion is the version of the result stream's format.
const StreamVersion = 1

// Record kinds of the result stream.
const (
	RecordHello = "hello" // first: the stream's version and the cases to come
	RecordStart = "start" // a case begins; a crash before its result is charged to it
	RecordCase  = "case"  // a case's result
	RecordEnd   = "end"   // last: the stream is complete
)

// StreamRecord is one JSON line of the result stream the guest writes.
type StreamRecord struct {
	Kind string `json:"kind"`

	// hello
	Version int      `json:"version,omitempty"`
	Cases   []string `json:"cases,omitempty"`

	// start, case
	ID string `json:"id,omitempty"`

	// case
	Obs *Observation `json:"obs,omitempty"`
	// Invariant lists the invariant violations; empty when all held.
	Invariant []string `json:"invariant,omitempty"`
	// Error is set when the case could not run (setup failed, it hung
	// past its timeout); Obs is then absent.
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Kmsg holds the kernel log lines of priority warning or worse that
	// appeared while the case ran.
	Kmsg []string `json:"kmsg,omitempty"`
	// Wedged is set when the case left the runner unable to go on (closing
	// the case's descriptors blocked in the kernel): the host reboots the
	// guest for the cases after it.
	Wedged bool `json:"wedged,omitempty"`
	// Subs are the subtests of a case that runs a program with subtests
	// of its own (a peer suite); Metrics what it measured.
	Subs    []SubResult        `json:"subs,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`

	// end
	Count int `json:"count,omitempty"`
}

// CaseResult is a case's outcome as the host records it (the run
// model's; see package runs).
type CaseResult = runs.CaseResult

// SubResult is one subtest of a case.
type SubResult = runs.SubResult

// HungPrefix starts the Error of a case that did not finish in time.
const HungPrefix = runs.HungPrefix

// ErrTruncated means the stream ended without its final record.
var ErrTruncated = errors.New("result stream ended without its final record")

// Stream is what a read result stream held.
type Stream struct {
	Planned []string
	Results []CaseResult
	// InFlight is the case that had started but not finished when the
	// stream ended, if any.
	InFlight string
	Complete bool
}

// ReadStream reads a result stream. It returns ErrTruncated (with what
// was read) when the final record is missing, which is how a guest that
// died mid-run shows.
//
// onStart, when set, is called for each start record before the next line
// is read; the host uses it to acknowledge the record.
func ReadStream(r io.Reader, onStart func(id string), onResult func(CaseResult)) (Stream, error) {
	var s Stream
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		var rec StreamRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return s, fmt.Errorf("result stream line %d: %w", line, err)
		}
		switch rec.Kind {
		case RecordHello:
			if rec.Version != StreamVersion {
				return s, fmt.Errorf("result stream version %d, want %d: guest and host differ", rec.Version, StreamVersion)
			}
			s.Planned = rec.Cases
		case RecordStart:
			s.InFlight = rec.ID
			if onStart != nil {
				onStart(rec.ID)
			}
		case RecordCase:
			res := CaseResult{ID: rec.ID, Obs: rec.Obs, Invariant: rec.Invariant, Error: rec.Error, Duration: rec.Duration, Kmsg: rec.Kmsg, Wedged: rec.Wedged, Subs: rec.Subs, Metrics: rec.Metrics}
			s.Results = append(s.Results, res)
			s.InFlight = ""
			if onResult != nil {
				onResult(res)
			}
		case RecordEnd:
			if rec.Count != len(s.Results) {
				return s, fmt.Errorf("result stream ends after %d cases but says %d", len(s.Results), rec.Count)
			}
			s.Complete = true
			return s, nil
		default:
			return s, fmt.Errorf("result stream line %d: unknown record %q", line, rec.Kind)
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("result stream: %w", err)
	}
	return s, ErrTruncated
}
