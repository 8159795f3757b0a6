package perf

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// tcpSegs reads the machine's TCP segment counters, received plus sent
// (/proc/net/snmp's Tcp InSegs and OutSegs), so that two readings around
// a sample give how many segments its transfer took, acknowledgements
// included: over loopback the count of the TCP stack's trips per byte,
// which its segmentation and delayed-ACK timing decide, not the
// benchmark. It returns false when the counters cannot be read.
func tcpSegs() (int64, bool) {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return parseTCPSegs(bufio.NewScanner(f))
}

// parseTCPSegs finds the "Tcp:" header line and the values line after
// it, and sums their InSegs and OutSegs columns.
func parseTCPSegs(sc *bufio.Scanner) (int64, bool) {
	var head []string
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		var n int64
		found := 0
		for i, name := range head {
			if (name == "InSegs" || name == "OutSegs") && i < len(f) {
				v, err := strconv.ParseInt(f[i], 10, 64)
				if err != nil {
					return 0, false
				}
				n += v
				found++
			}
		}
		if found != 2 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
