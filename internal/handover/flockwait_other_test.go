//go:build unix && !linux

package handover

import "testing"

// waitBlocked: only Linux lists blocked flock requests (/proc/locks), and
// these tests do not guess with a sleep instead.
func waitBlocked(t *testing.T, path string, n int) {
	t.Skip("needs /proc/locks to see the flock waiters block")
}
