//go:build !linux

package proc

// State: without /proc, liveness is all there is to know.
func State(pid int) (alive bool, start string) { return Alive(pid), "" }
