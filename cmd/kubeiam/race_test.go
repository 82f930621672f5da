//go:build race

package main

import "time"

// faultBudget is how long a token call may take in the cache-fault tests.
// The race detector slows the start of the test binary (front and core both
// run it) several times over; the bound is about hangs, which it still catches.
const faultBudget = 5 * time.Second
