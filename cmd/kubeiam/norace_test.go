//go:build !race

package main

import "time"

// faultBudget is how long a token call may take in the cache-fault tests:
// the bound, far above a normal call and far below a hang.
const faultBudget = time.Second
