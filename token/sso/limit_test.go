package sso

import (
	"context"
	"testing"
	"time"
)

// The limiter spaces calls 1/rate apart, halves the rate on a 429 and
// creeps back to the ceiling, never above it.
func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	var slept time.Duration
	l := NewLimiter(20)
	l.now = func() time.Time { return now }
	l.sleep = func(_ context.Context, d time.Duration) error { slept += d; now = now.Add(d); return nil }
	for range 20 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if want := 19 * 50 * time.Millisecond; slept != want {
		t.Fatalf("20 calls at 20/s slept %v, want %v", slept, want)
	}
	l.Throttled()
	if l.rate != 10 {
		t.Fatalf("rate after a 429: %v, want 10", l.rate)
	}
	for range 100 {
		l.OK()
	}
	if l.rate != 20 {
		t.Fatalf("rate after successes: %v, want back at 20", l.rate)
	}
	if l.ThrottledCount() != 1 {
		t.Fatalf("throttled count %d", l.ThrottledCount())
	}
}
