package fuzz

import "strings"

// Features are what each call of p met and how it ended, one per line of
// its trace: the operation, the kinds of the descriptors it was given
// (closed ones "", "/hup" where the pair's other end is closed), the
// outcome's class, with "0" apart from other values and "sig" where it
// raised a signal — "tee(pipe-rd/hup,pipe-wr) 0". Without KCOV they are
// the fuzzer's signal: a program is kept when it meets a new one, so the
// corpus holds each state a call was met in, not only each errno.
func Features(p Prog, tr Trace) []string {
	st := &state{}
	var out []string
	for i, l := range tr {
		if i >= len(p.Calls) {
			break
		}
		c := p.Calls[i]
		var kinds []string
		for j, a := range specs[c.Op].Args {
			if a.Kind == Fd {
				kinds = append(kinds, st.kind(c.Args[j]))
			}
		}
		_, outcome := Step(l)
		class := Class(outcome)
		if strings.HasPrefix(outcome, "0") && class == "value" && (len(outcome) == 1 || outcome[1] == ' ') {
			class = "0"
		}
		if strings.Contains(outcome, " sig=") {
			class += " sig"
		}
		out = append(out, c.Op+"("+strings.Join(kinds, ",")+") "+class)
		st.apply(c)
	}
	return out
}
