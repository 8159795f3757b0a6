package suites

import (
	"os"
	"time"
)

// selftestCases check the harness itself; they are hidden and run only
// when selected by name ("selftest/*").
func selftestCases() []*Case {
	return []*Case{
		{
			ID: "selftest/crash/sysrq", Desc: "panics the kernel on purpose, to test that a crash is charged to its case",
			Calls:  "write(/proc/sysrq-trigger, \"c\")",
			Hidden: true,
			Run: func(t *T) Observation {
				if err := os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0); err != nil {
					return Skip("no sysrq: " + err.Error())
				}
				time.Sleep(10 * time.Second) // the kernel is going down
				return Bool(false)
			},
		},
		{
			ID: "selftest/hang/sleep", Desc: "never returns, to test the per-case bound",
			Calls: "sleep", Hidden: true, Timeout: time.Second,
			Run: func(t *T) Observation {
				time.Sleep(time.Hour)
				return Bool(false)
			},
		},
	}
}
