package perf

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

func TestParseTCPSegs(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     int64
		ok       bool
	}{
		{"both counters", "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm InSegs OutSegs RetransSegs\nTcp: 1 120 80 3\nUdp: InDatagrams\nUdp: 5\n", 200, true},
		{"columns in another order", "Tcp: OutSegs X InSegs\nTcp: 7 9 11\n", 18, true},
		{"no OutSegs", "Tcp: InSegs\nTcp: 4\n", 0, false},
		{"no Tcp lines", "Ip: Forwarding\nIp: 1\n", 0, false},
		{"header without values", "Tcp: InSegs OutSegs\n", 0, false},
		{"not a number", "Tcp: InSegs OutSegs\nTcp: 1 x\n", 0, false},
	} {
		got, ok := parseTCPSegs(bufio.NewScanner(strings.NewReader(c.in)))
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// This host's counters rise with a loopback transfer: at least one
// segment each way for the data and the handshake.
func TestTCPSegsRise(t *testing.T) {
	before, ok := tcpSegs()
	if !ok {
		t.Skip("no /proc/net/snmp here")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err == nil {
			c.Read(make([]byte, 4))
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("ping"))
	<-done
	c.Close()
	after, _ := tcpSegs()
	if after-before < 4 {
		t.Errorf("segments rose by %d over a connection and 4 bytes, want at least 4", after-before)
	}
}
