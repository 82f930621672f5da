//go:build !linux

package kubeconfig

// processState: without /proc, liveness is all there is to know.
func processState(pid int) (alive bool, start string) { return pidAlive(pid), "" }

func pidNamespace() string { return "" }
