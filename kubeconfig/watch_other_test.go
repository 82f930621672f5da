//go:build !linux

package kubeconfig

import "testing"

// watchOpen: without inotify there is no signal that a waiter looked at
// the lock; the tests using it then check less (the waiter may find the
// lock already free) rather than guess with a sleep.
func watchOpen(t *testing.T, path string) (wait func()) { return func() {} }
