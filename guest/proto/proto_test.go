package proto

import (
	"slices"
	"testing"
)

func TestQuoteSplitRoundTrip(t *testing.T) {
	tests := [][]string{
		{"uname", "-r"},
		{"sh", "-c", "echo 'hi there' && exit 3"},
		{""},
		{"a b", "c\td", "e\nf"},
		{`back\slash`, `"double"`, "it's"},
		{"$HOME", "`x`", "*", "?"},
	}
	for _, argv := range tests {
		got, err := SplitArgs(QuoteArgs(argv))
		if err != nil {
			t.Fatalf("SplitArgs(QuoteArgs(%q)): %v", argv, err)
		}
		if !slices.Equal(got, argv) {
			t.Errorf("round trip of %q gave %q (quoted %s)", argv, got, QuoteArgs(argv))
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "uname -r", want: []string{"uname", "-r"}},
		{in: "  a   b  ", want: []string{"a", "b"}},
		{in: `echo "a \"b\" c" 'd e'`, want: []string{"echo", `a "b" c`, "d e"}},
		{in: `a\ b`, want: []string{"a b"}},
		{in: `x''`, want: []string{"x"}},
		{in: `''`, want: []string{""}},
		{in: "", want: nil},
		{in: "'open", wantErr: true},
		{in: `trailing\`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("SplitArgs(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseHello(t *testing.T) {
	h := Hello{Version: Version, BuildID: "abc", Release: "6.12.0"}
	got, err := ParseHello(h.Marshal())
	if err != nil || got.BuildID != "abc" || got.Release != "6.12.0" {
		t.Fatalf("ParseHello(Marshal) = %+v, %v", got, err)
	}
	h.Version = Version + 1
	if _, err := ParseHello(h.Marshal()); err == nil {
		t.Error("ParseHello accepted a foreign protocol version")
	}
	if _, err := ParseHello([]byte("{")); err == nil {
		t.Error("ParseHello accepted broken JSON")
	}
}
