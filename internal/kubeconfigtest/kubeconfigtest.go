// Package kubeconfigtest makes the large kubeconfig files the merge tests
// and benchmarks share, so the corpus test (kubeconfig) holds the exact
// file `make bench` and `make bench-compare` time.
package kubeconfigtest

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Generate writes a kubeconfig of n clusters, users and contexts as kubectl
// lays it out: EKS Anywhere's exec entries running kubeiam, a ~1.1 KB CA
// blob per cluster (about a real cluster CA certificate), "env: null", and
// "preferences: {}" as kubectl before 1.34 has it.
func Generate(n int) []byte {
	blob := make([]byte, 1100)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	caData := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString("apiVersion: v1\nclusters:\n")
	for i := range n {
		fmt.Fprintf(&b, "- cluster:\n    certificate-authority-data: %s\n    server: https://10.%d.%d.%d:6443\n  name: c%05d\n",
			caData, i>>16&255, i>>8&255, i&255, i)
	}
	b.WriteString("contexts:\n")
	for i := range n {
		fmt.Fprintf(&b, "- context:\n    cluster: c%05d\n    user: c%05d-aws\n  name: c%05d-aws\n", i, i, i)
	}
	b.WriteString("current-context: c00000-aws\nkind: Config\npreferences: {}\nusers:\n")
	for i := range n {
		fmt.Fprintf(&b, "- name: c%05d-aws\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"+
			"      args:\n      - token\n      - -i\n      - c%05d\n      command: kubeiam\n      env: null\n      interactiveMode: Never\n      provideClusterInfo: false\n", i, i)
	}
	return []byte(b.String())
}
