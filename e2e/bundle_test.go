package e2e

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBundleResolveFromCluster: `kubeiam bundle resolve --kubeconfig` reads
// the EKS Anywhere objects from a real apiserver — Bundles and Cluster as
// CRDs, as EKS-A installs them — follows the Cluster's bundlesRef to the
// Bundles, picks the versionsBundle of the cluster's Kubernetes version and
// fetches its EKS-D manifest (through a mirror, over HTTPS with a private
// CA), then names the authenticator asset.
func TestBundleResolveFromCluster(t *testing.T) {
	_, ctx := kubeiamEnv(t)
	crds := ""
	for _, k := range [][3]string{{"bundles", "Bundles", "bundles"}, {"clusters", "Cluster", "cluster"}} {
		crds += `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ` + k[0] + `.anywhere.eks.amazonaws.com
spec:
  group: anywhere.eks.amazonaws.com
  scope: Namespaced
  names: {plural: ` + k[0] + `, singular: ` + k[2] + `, kind: ` + k[1] + `, listKind: ` + k[1] + `List}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
`
	}
	mustKubectl(t, ctx, crds, "apply", "-f", "-")
	mustKubectl(t, ctx, "", "wait", "--for=condition=Established", "--timeout=60s", "crd/bundles.anywhere.eks.amazonaws.com", "crd/clusters.anywhere.eks.amazonaws.com")

	bundles, err := os.ReadFile("../bundle/testdata/bundles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Its own namespace, not eksa-system: the installer test (which shares
	// the stack) counts the objects it creates there.
	bundles = []byte(strings.Replace(string(bundles), "namespace: eksa-system", "namespace: e2e-bundles", 1))
	objects := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: e2e-bundles\n---\n" + string(bundles) + `
---
apiVersion: anywhere.eks.amazonaws.com/v1alpha1
kind: Cluster
metadata:
  name: e2ecl
  namespace: default
spec:
  kubernetesVersion: "1.31"
  bundlesRef:
    apiVersion: anywhere.eks.amazonaws.com/v1alpha1
    name: bundles-73
    namespace: e2e-bundles
`
	mustKubectl(t, ctx, objects, "apply", "-f", "-")

	manifest, err := os.ReadFile("../bundle/testdata/kubernetes-1-31-eks-12.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if r.URL.Path != "/kubernetes-1-31/kubernetes-1-31-eks-12.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Write(manifest)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)

	cmd := exec.CommandContext(ctx, stack.Bins.Kubeiam, "bundle", "resolve",
		"--kubeconfig", stack.AdminKubeconfig, "--cluster", "e2ecl", "--os", "linux", "--arch", "amd64",
		"--mirror", "https://distro.eks.amazonaws.com="+srv.URL, "--ca-file", caFile, "-o", "json")
	cmd.Env = append(os.Environ(), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"Cluster default/e2ecl: spec.bundlesRef names Bundles e2e-bundles/bundles-73"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say which objects were used (%q):\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "aws-iam-authenticator-linux-amd64") {
		t.Errorf("the resolved asset is not the linux/amd64 authenticator:\n%s", stdout.String())
	}
	if asked.Load() == 0 {
		t.Error("the manifest was not fetched through the mirror")
	}
}
