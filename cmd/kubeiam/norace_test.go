//go:build !race

package main

import "time"

const raceEnabled = false

// faultBudget is how long a token call may take in the cache-fault tests:
// the bound, far above a normal call and far below a hang.
const faultBudget = time.Second

// faultLimit: without -race the absolute bound holds, whatever a
// normal call took.
func faultLimit(time.Duration) time.Duration { return faultBudget }

// timingSlack is how much slower than a normal call a call that meets a
// fault may be: the bound, on a machine where a normal call takes
// about as long (slackOver scales it on a loaded one).
const timingSlack = 50 * time.Millisecond
