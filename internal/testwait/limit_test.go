package testwait

import (
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		base, floor, ceil, want time.Duration
	}{
		{1 * ms, 100 * ms, time.Second, 100 * ms},      // tiny baseline: the floor
		{20 * ms, 100 * ms, time.Second, 200 * ms},     // k × base
		{200 * ms, 100 * ms, time.Second, time.Second}, // never the ruled-out behaviour
		{200 * ms, 100 * ms, 0, 2 * time.Second},       // no ceiling
	} {
		if got := Limit(tc.base, 10, tc.floor, tc.ceil); got != tc.want {
			t.Errorf("Limit(%s, 10, %s, %s) = %s, want %s", tc.base, tc.floor, tc.ceil, got, tc.want)
		}
	}
}

func TestBaselineIsTheMedian(t *testing.T) {
	sleeps := []time.Duration{30 * time.Millisecond, 0, 0}
	i := 0
	// A sleep here is the thing measured, not a wait for something.
	got := Baseline(3, func() { time.Sleep(sleeps[i]); i++ })
	if i != 3 || got >= 30*time.Millisecond {
		t.Errorf("Baseline ran fn %d times, median %s: want 3 runs and the outlier ignored", i, got)
	}
}
