//go:build !linux

package testwait

import "testing"

// WatchOpen: without inotify there is no signal that a file was opened;
// ok is false and wait returns at once.
func WatchOpen(t testing.TB, path string) (wait func(), ok bool) { return func() {}, false }
