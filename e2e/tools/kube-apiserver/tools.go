//go:build tools

// Package tools records the main packages the e2e rig builds from
// k8s.io/kubernetes (the control plane and the node's kubelet) as
// dependencies so that `go mod tidy` keeps everything their builds need in
// go.sum. One module for all four keeps them on one version and lets the
// later builds reuse kube-apiserver's compiled packages.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
