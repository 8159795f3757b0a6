package suites

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// StressDuration is how long each stress-ng stressor runs.
const StressDuration = time.Second

// StressNGStressors are the stress-ng stressors patchtest runs.
var StressNGStressors = []string{"vm-splice", "splice", "tee", "sendfile", "pipe"}

// stressNGPeer is stress-ng's pipe and splice stressors, the host's
// stress-ng copied into the guest; their guests count instructions.
func stressNGPeer() PeerSuite {
	return PeerSuite{
		Name:    "stress-ng",
		What:    "the host's, its pipe and splice stressors",
		Host:    []HostNeed{{Program: "stress-ng", Package: "stress-ng", Why: "for the stress-ng peer suite"}},
		Copy:    []string{"stress-ng"},
		Counted: true,
		Cases:   stressNGCases,
		Figures: stressShown,
		About:   "one " + StressDuration.String() + " run per kernel",
		Related: map[string]string{
			"vm-splice": "vmsplice/pipe-devnull/64KiB",
			"splice":    "splice/zero-pipe-devnull/64KiB",
			"tee":       "vmsplice/tee-fanout4/64KiB",
			"sendfile":  "sendfile/file-tcp/1MiB",
			"pipe":      "write/pipe-devnull/64KiB",
		},
	}
}

// stressShown says which of a stressor's metrics the reports compare: its
// bogo operations per second and its own rates.
func stressShown(metric string) bool {
	return metric == "bogo-ops-per-second-real-time" || (strings.Contains(metric, "per-sec") && !strings.HasPrefix(metric, "bogo-ops"))
}

func stressNGCases() []*Case {
	var cs []*Case
	for _, s := range StressNGStressors {
		s := s
		cs = append(cs, &Case{
			ID:     "peer/stress-ng/" + s,
			Desc:   "stress-ng's " + s + " stressor with --verify for " + StressDuration.String() + "; zero or collapsed operations are a correctness finding",
			Calls:  fmt.Sprintf("stress-ng --%s 1 -t %ds --verify --metrics -Y", s, int(StressDuration.Seconds())),
			Pins:   "stress-ng " + s,
			Hidden: true, Timeout: StressDuration + 60*time.Second,
			Run: func(t *T) Observation { return runStressNG(t, s) },
		})
	}
	return cs
}

// stressNG finds the stress-ng the host copied into the guest (at its
// host path, as --program does).
func stressNG() string {
	for _, p := range []string{"/usr/bin/stress-ng", "/usr/local/bin/stress-ng", "/bin/stress-ng"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("stress-ng"); err == nil {
		return p
	}
	return ""
}

// StressMetrics is one stressor's entry in stress-ng's YAML (-Y) output.
type StressMetrics struct {
	Stressor string
	// Values are its numeric fields: bogo-ops, bogo-ops-per-second-real-time,
	// wall-clock-time and the stressor's own rates.
	Values map[string]float64
}

// ParseStressYAML reads the metrics of stress-ng's YAML output.
func ParseStressYAML(b []byte) ([]StressMetrics, error) {
	var doc struct {
		Metrics []map[string]any `yaml:"metrics"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("stress-ng YAML: %w", err)
	}
	var out []StressMetrics
	for _, m := range doc.Metrics {
		s := StressMetrics{Values: map[string]float64{}}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				if k == "stressor" {
					s.Stressor = x
				}
			case int:
				s.Values[k] = float64(x)
			case float64:
				s.Values[k] = x
			}
		}
		if s.Stressor != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// Collapse says whether a stressor's run did no work: no bogo operations,
// or a loop that stopped well before its time (stress-ng 0.15's vm-splice
// leaves its loop on an error and still exits 0). "" when it ran.
func Collapse(m StressMetrics, want float64) string {
	ops, ok := m.Values["bogo-ops"]
	switch {
	case !ok:
		return "no bogo-ops in its metrics"
	case ops == 0:
		return "zero bogo operations"
	}
	if wall, ok := m.Values["wall-clock-time"]; ok && want > 0 && wall < want/2 {
		return fmt.Sprintf("collapsed: its loop ran %.3g s of %.3g s (%.0f bogo ops)", wall, want, ops)
	}
	return ""
}

// runStressNG runs one stressor: its exit status is the case's outcome;
// its subtests say whether it reported failures (verification among
// them) and whether it did work; its metrics go with the case.
func runStressNG(t *T, stressor string) Observation {
	bin := stressNG()
	if bin == "" {
		return Skip("no stress-ng in the guest (run with --peer stress-ng)")
	}
	y := filepath.Join(t.Dir(), "metrics.yaml")
	secs := int(StressDuration.Seconds())
	var (
		mu    sync.Mutex
		fails []string
	)
	p := program{
		dir: t.Dir(),
		argv: []string{bin, "--" + stressor, "1", "-t", fmt.Sprintf("%ds", secs), "--verify", "--metrics",
			"-Y", y, "--temp-path", t.Dir()},
		bound: StressDuration + 45*time.Second,
		line: func(l string) {
			if strings.Contains(l, " fail: ") || strings.Contains(l, " error: ") {
				mu.Lock()
				fails = append(fails, strings.TrimSpace(l))
				mu.Unlock()
			}
		},
	}
	r, err := p.run()
	if err != nil {
		panic(fatal{fmt.Errorf("run stress-ng: %w", err)})
	}
	if r.killed {
		t.Hang(fmt.Sprintf("stress-ng --%s did not end within %v", stressor, p.bound))
		return Observation{}
	}
	mu.Lock()
	defer mu.Unlock()
	var o Observation
	if len(fails) == 0 {
		o = Outcome("none", "")
	} else {
		o = Outcome("failed", fails[0])
		t.Check(false, "stress-ng --%s reported a failure: %s", stressor, fails[0])
	}
	t.Sub(SubResult{Name: "failures", Obs: &o})

	b, yerr := os.ReadFile(y)
	ms, perr := ParseStressYAML(b)
	var m *StressMetrics
	for i := range ms {
		if ms[i].Stressor == stressor {
			m = &ms[i]
		}
	}
	var ops Observation
	switch {
	case r.code == 4:
		ops = Skip("stress-ng: the stressor is not implemented here")
	case yerr != nil || perr != nil || m == nil:
		ops = Outcome("no metrics", fmt.Sprint(yerr, perr))
		t.Check(false, "stress-ng --%s wrote no metrics for the stressor (exit %d): %s", stressor, r.code, lastLine(r.tail))
	default:
		for k, v := range m.Values {
			t.Metric(k, v)
		}
		if why := Collapse(*m, StressDuration.Seconds()); why != "" {
			ops = Outcome(strings.SplitN(why, ":", 2)[0], why)
			t.Check(false, "stress-ng --%s: %s", stressor, why)
		} else {
			ops = Outcome("ran", "")
		}
	}
	t.Sub(SubResult{Name: "ops", Obs: &ops})
	switch r.code {
	case 0:
		return Outcome("ok", "")
	case 4:
		return Skip("stress-ng: the stressor is not implemented here: " + lastLine(r.tail))
	}
	return Outcome(fmt.Sprintf("not ok (exit %d)", r.code), lastLine(r.tail))
}
