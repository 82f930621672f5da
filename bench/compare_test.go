package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The dry-run's redaction tags differ between any two runs; unkeyed keeps
// which are equal and drops the per-process hash.
func TestUnkeyed(t *testing.T) {
	a := unkeyed([]byte("x: DATA+OMITTED-75a475c8\ny: REDACTED-0badf00d\nz: DATA+OMITTED-75a475c8\n"))
	b := unkeyed([]byte("x: DATA+OMITTED-3034c5d5\ny: REDACTED-12345678\nz: DATA+OMITTED-3034c5d5\n"))
	if string(a) != string(b) || !strings.Contains(string(a), "z: DATA+OMITTED-#1") {
		t.Errorf("unkeyed: %q vs %q", a, b)
	}
	// Two different secrets where there was one is still a difference.
	c := unkeyed([]byte("x: DATA+OMITTED-3034c5d5\ny: REDACTED-12345678\nz: DATA+OMITTED-99999999\n"))
	if string(a) == string(c) {
		t.Errorf("unkeyed hid a difference: %q", c)
	}
}

func TestFirstDiff(t *testing.T) {
	if d := firstDiff([]byte("a\nb\n"), []byte("a\nb\n")); d != "" {
		t.Errorf("equal inputs: %q", d)
	}
	d := firstDiff([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"))
	if !strings.Contains(d, `line 2, base: "b"`) || !strings.Contains(d, `line 2, head: "B"`) {
		t.Errorf("diff: %s", d)
	}
}

// The verdict: within the bound passes; beyond it passes only while this
// run cannot tell the sides apart, and never past the cap.
func TestCompareVerdict(t *testing.T) {
	ms := func(xs ...float64) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x*float64(time.Millisecond)))
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name       string
		base, head []time.Duration
		want       string
	}{
		{"same", ms(10, 10, 10, 10, 10), ms(10, 10.2, 9.9, 10, 10.1), "PASS"},
		{"faster", ms(10, 10, 10, 10, 10), ms(8, 8, 8, 8, 8), "PASS"},
		{"steadily 20% slower", ms(10, 10, 10, 10, 10, 10, 10), ms(12, 12, 12, 12, 12, 12, 12), "FAIL"},
		{"steadily 8% slower", ms(10, 10, 10, 10, 10, 10, 10), ms(10.8, 10.8, 10.8, 10.8, 10.8, 10.8, 10.8), "FAIL"},
		{"8% slower in the median, noisy", ms(10, 10, 10, 10, 10, 10, 10), ms(7, 10.8, 12, 10.8, 8, 13, 9), "PASS"},
	} {
		row := compareRow(&pairMetric{name: tc.name, base: tc.base, head: tc.head}, rng)
		if row.Verdict != tc.want {
			t.Errorf("%s: %s (ratio %.3f, %.3f–%.3f), want %s", tc.name, row.Verdict, row.Ratio, row.Lo, row.Hi, tc.want)
		}
	}
}
