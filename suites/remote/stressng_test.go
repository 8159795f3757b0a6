package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/vm"
)

// BenchmarkAgentVsStressNG checks that the Go agent is not what limits
// the vmsplice benchmarks: in one guest of the stock kernel it runs
// stress-ng's vm-splice stressor (Debian's binary, copied in with its
// shared libraries) and the agent's vmsplice/pipe-devnull/64KiB, and
// reports the agent's throughput over stress-ng's. stress-ng's bogo
// operation (64 KiB vmsplice into a pipe and splice to /dev/null, plus,
// in its loop, refilling the buffer and a 4 KiB check) is converted to
// bytes as 64 KiB; its own vmsplice-only rate is reported beside it.
//
//	apt-get install stress-ng
//	go test ./suites/remote -run '^$' -bench AgentVsStressNG -benchtime 3x
func BenchmarkAgentVsStressNG(b *testing.B) {
	sng, err := exec.LookPath("stress-ng")
	if err != nil {
		b.Skip("stress-ng is not installed (apt-get install stress-ng)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	boot := perfBoot(b, kernels.Request{})
	boot.Programs = []string{sng}
	m, err := vm.Boot(ctx, boot)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	run := func(argv ...string) []byte {
		var out, errb bytes.Buffer
		code, err := m.Run(ctx, argv, nil, &out, &errb)
		if err != nil || code != 0 {
			b.Fatalf("%v: exit %d, %v: %s", argv, code, err, errb.String())
		}
		return out.Bytes()
	}
	bogoRe := regexp.MustCompile(`bogo-ops-per-second-real-time: ([0-9.]+)`)
	rateRe := regexp.MustCompile(`mb-per-sec-vmsplice-rate: ([0-9.]+)`)
	var agent, stress, stressRate float64
	for b.Loop() {
		y := run("sh", "-c", sng+" --vm-splice 1 --vm-splice-bytes 64K -t 3s --metrics -Y /tmp/sng.yaml >/dev/null 2>&1; cat /tmp/sng.yaml")
		mb, mr := bogoRe.FindSubmatch(y), rateRe.FindSubmatch(y)
		if mb == nil {
			b.Fatalf("no bogo ops rate in stress-ng's YAML:\n%s", y)
		}
		ops, _ := strconv.ParseFloat(string(mb[1]), 64)
		stress = ops * (64 << 10)
		if mr != nil {
			r, _ := strconv.ParseFloat(string(mr[1]), 64)
			stressRate = r * (1 << 20)
		}
		req, _ := json.Marshal(perf.Request{ID: "vmsplice/pipe-devnull/64KiB", Duration: 3 * time.Second})
		var s perf.Sample
		if err := json.Unmarshal(run("/init", "perf", "worker", string(req)), &s); err != nil || s.Error != "" {
			b.Fatalf("agent sample: %v %s", err, s.Error)
		}
		agent, _ = s.Metric(perf.Throughput)
		b.Logf("agent %.3g B/s, stress-ng %.3g B/s (bogo ops x 64 KiB), stress-ng vmsplice-only rate %.3g B/s", agent, stress, stressRate)
	}
	b.ReportMetric(agent, "agent-B/s")
	b.ReportMetric(stress, "stress-ng-B/s")
	b.ReportMetric(agent/stress, "agent/stress-ng")
	if stressRate > 0 {
		b.ReportMetric(agent/stressRate, "agent/stress-ng-vmsplice-only")
	}
}
