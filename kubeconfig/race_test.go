//go:build race

package kubeconfig

const raceEnabled = true
