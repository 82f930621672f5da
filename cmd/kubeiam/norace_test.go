//go:build !race

package main

import "time"

// faultBudget is how long a token call may take in the cache-fault tests:
// the bound, far above a normal call and far below a hang.
const faultBudget = time.Second

// timingSlack is how much slower than a normal call a call that meets a
// fault may be: the bound.
const timingSlack = 50 * time.Millisecond
