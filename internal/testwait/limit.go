// Package testwait is how tests wait without guessing: readiness signals
// instead of sleeps (WatchOpen), and time limits relative to a baseline
// measured in the same test instead of absolute ones (Baseline, Limit): on
// a loaded machine (CI, two cores shared by several builds, the race
// detector) the baseline slows with the code under test, so the limit
// still tells "fast" from "slow" without failing because the machine was
// busy. It is a test helper: only _test.go files import it.
package testwait

import (
	"slices"
	"time"
)

// Baseline is the median wall time of n runs of fn (n < 1 counts as 1):
// the uncontended cost of what the test then times under its condition.
func Baseline(n int, fn func()) time.Duration {
	ds := make([]time.Duration, max(n, 1))
	for i := range ds {
		start := time.Now()
		fn()
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// Limit is k × base, raised to floor and held to ceil. floor keeps the limit
// above scheduling noise when the baseline is tiny; ceil is the behaviour
// the test rules out (waiting out a timeout, a retry interval): a limit at
// or beyond it could not tell the two apart, so a baseline slow enough to
// reach it fails the test rather than emptying it. ceil 0 means none.
func Limit(base time.Duration, k float64, floor, ceil time.Duration) time.Duration {
	d := max(time.Duration(float64(base)*k), floor)
	if ceil > 0 {
		d = min(d, ceil)
	}
	return d
}
