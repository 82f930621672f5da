package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeAPI serves EKS Anywhere objects the way kube-apiserver does for the
// dynamic client: GET of one object, LIST of a namespace, 404 Status.
type fakeAPI struct {
	*httptest.Server
	mu      sync.Mutex
	objects map[string]map[string]any // "<resource>/<ns>/<name>"
	gets    []string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{objects: map[string]map[string]any{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /apis/anywhere.eks.amazonaws.com/v1alpha1/namespaces/<ns>/<resource>[/<name>]
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/apis/anywhere.eks.amazonaws.com/v1alpha1/namespaces/"), "/")
		w.Header().Set("Content-Type", "application/json")
		f.mu.Lock()
		defer f.mu.Unlock()
		switch len(parts) {
		case 2:
			var items []any
			for k, o := range f.objects {
				if strings.HasPrefix(k, parts[1]+"/"+parts[0]+"/") {
					items = append(items, o)
				}
			}
			json.NewEncoder(w).Encode(map[string]any{"apiVersion": "anywhere.eks.amazonaws.com/v1alpha1", "kind": "List", "metadata": map[string]any{}, "items": items})
		case 3:
			key := parts[1] + "/" + parts[0] + "/" + parts[2]
			f.gets = append(f.gets, key)
			o, ok := f.objects[key]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(map[string]any{"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
					"message": fmt.Sprintf("%s %q not found", parts[1], parts[2])})
				return
			}
			json.NewEncoder(w).Encode(o)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) add(resource, kind, ns, name string, spec map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[resource+"/"+ns+"/"+name] = map[string]any{
		"apiVersion": "anywhere.eks.amazonaws.com/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns}, "spec": spec,
	}
}

func (f *fakeAPI) kubeconfig(t *testing.T, file string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), file)
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
users:
- name: admin
  user:
    token: t
contexts:
- name: admin@c
  context: {cluster: c, user: admin}
current-context: admin@c
`, f.URL)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func bundlesSpec(number int, manifest string) map[string]any {
	return map[string]any{"number": number, "versionsBundles": []any{
		map[string]any{"kubeVersion": "1.30", "eksD": map[string]any{"name": "kubernetes-1-30-eks-28", "manifestUrl": "https://x/1-30.yaml"}},
		map[string]any{"kubeVersion": "1.31", "eksD": map[string]any{"name": "kubernetes-1-31-eks-12", "channel": "1-31", "manifestUrl": manifest}},
	}}
}

func TestFindBundlesThroughBundlesRef(t *testing.T) {
	api := newFakeAPI(t)
	api.add("clusters", "Cluster", "default", "prod", map[string]any{"kubernetesVersion": "1.31",
		"bundlesRef": map[string]any{"apiVersion": "anywhere.eks.amazonaws.com/v1alpha1", "name": "bundles-73", "namespace": "eksa-system"}})
	api.add("bundles", "Bundles", "eksa-system", "bundles-73", bundlesSpec(73, "https://x/1-31.yaml"))
	// A same-named Bundles that must not be used.
	api.add("bundles", "Bundles", "default", "prod", bundlesSpec(1, "https://wrong"))
	found, err := FindBundles(context.Background(), &ClusterSource{Kubeconfig: api.kubeconfig(t, "prod-eks-a-cluster.kubeconfig")})
	if err != nil {
		t.Fatal(err)
	}
	if found.ClusterName != "prod" || found.KubeVersion != "1.31" || found.Bundles.Spec.Number != 73 {
		t.Errorf("got %+v", found)
	}
	trail := strings.Join(found.Trail, "\n")
	for _, want := range []string{"cluster name prod taken from the kubeconfig file name", "Cluster default/prod: spec.bundlesRef names Bundles eksa-system/bundles-73"} {
		if !strings.Contains(trail, want) {
			t.Errorf("trail %q lacks %q", trail, want)
		}
	}
}

func TestFindBundlesThroughEKSARelease(t *testing.T) {
	api := newFakeAPI(t)
	api.add("clusters", "Cluster", "default", "edge", map[string]any{"kubernetesVersion": "1.31", "eksaVersion": "v0.21.3"})
	api.add("eksareleases", "EKSARelease", "eksa-system", "eksa-v0-21-3", map[string]any{"version": "v0.21.3",
		"bundlesRef": map[string]any{"name": "bundles-80", "namespace": "eksa-system"}})
	api.add("bundles", "Bundles", "eksa-system", "bundles-80", bundlesSpec(80, "https://x/1-31.yaml"))
	// The only Cluster in the namespace is picked when no name is given.
	found, err := FindBundles(context.Background(), &ClusterSource{Kubeconfig: api.kubeconfig(t, "admin.kubeconfig")})
	if err != nil {
		t.Fatal(err)
	}
	if found.Bundles.Spec.Number != 80 || found.ClusterName != "edge" {
		t.Errorf("got %+v", found)
	}
	if !strings.Contains(strings.Join(found.Trail, "\n"), "spec.eksaVersion v0.21.3 -> EKSARelease eksa-system/eksa-v0-21-3 -> Bundles eksa-system/bundles-80") {
		t.Errorf("trail %q", found.Trail)
	}
}

func TestFindBundlesSameNamedAsTheSeed(t *testing.T) {
	api := newFakeAPI(t)
	// No Cluster object readable: `kubectl get bundles <cluster>` as the docs do.
	api.add("bundles", "Bundles", "default", "old", bundlesSpec(12, "https://x/1-31.yaml"))
	found, err := FindBundles(context.Background(), &ClusterSource{Kubeconfig: api.kubeconfig(t, "k"), Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if found.Bundles.Spec.Number != 12 || found.KubeVersion != "" || !strings.Contains(found.Trail[0], "no Cluster default/old") {
		t.Errorf("got %+v", found)
	}
	// And Resolve then wants the version spelled out.
	_, err = Resolve(context.Background(), &Fetcher{}, Source{Cluster: &ClusterSource{Kubeconfig: api.kubeconfig(t, "k"), Name: "old"}})
	if err == nil || !strings.Contains(err.Error(), "--kube-version") {
		t.Errorf("got %v", err)
	}
}

func TestFindBundlesErrors(t *testing.T) {
	api := newFakeAPI(t)
	api.add("clusters", "Cluster", "default", "a", map[string]any{})
	api.add("clusters", "Cluster", "default", "b", map[string]any{})
	_, err := FindBundles(context.Background(), &ClusterSource{Kubeconfig: api.kubeconfig(t, "k")})
	if err == nil || !strings.Contains(err.Error(), "2 EKS Anywhere Clusters in namespace default (a, b)") {
		t.Errorf("two clusters: %v", err)
	}
	_, err = FindBundles(context.Background(), &ClusterSource{Kubeconfig: api.kubeconfig(t, "k"), Name: "a"})
	if err == nil || !strings.Contains(err.Error(), "could not get Bundles default/a") {
		t.Errorf("missing Bundles: %v", err)
	}
	api.add("clusters", "Cluster", "default", "c", map[string]any{"eksaVersion": "v0.99.0"})
	_, err = FindBundles(context.Background(), &ClusterSource{Kubeconfig: api.kubeconfig(t, "k"), Name: "c"})
	if err == nil || !strings.Contains(err.Error(), "EKSARelease eksa-system/eksa-v0-99-0") {
		t.Errorf("missing EKSARelease: %v", err)
	}
}

func TestResolveFromLiveCluster(t *testing.T) {
	s := newServer(t)
	data, err := os.ReadFile("testdata/kubernetes-1-31-eks-12.yaml")
	if err != nil {
		t.Fatal(err)
	}
	manifest := s.put("/kubernetes-1-31/kubernetes-1-31-eks-12.yaml", data)
	api := newFakeAPI(t)
	api.add("clusters", "Cluster", "default", "prod", map[string]any{"kubernetesVersion": "1.31", "bundlesRef": map[string]any{"name": "bundles-73", "namespace": "eksa-system"}})
	api.add("bundles", "Bundles", "eksa-system", "bundles-73", bundlesSpec(73, manifest))
	res, err := Resolve(context.Background(), s.fetcher(t), Source{Cluster: &ClusterSource{Kubeconfig: api.kubeconfig(t, "prod-eks-a-cluster.kubeconfig")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.Metadata.Name != "kubernetes-1-31-eks-12" || res.ManifestURL != manifest {
		t.Errorf("got %s from %s", res.Release.Metadata.Name, res.ManifestURL)
	}
	// --kube-version overrides the cluster's own.
	_, err = Resolve(context.Background(), s.fetcher(t), Source{KubeVersion: "1.29", Cluster: &ClusterSource{Kubeconfig: api.kubeconfig(t, "prod-eks-a-cluster.kubeconfig")}})
	var ve *VersionError
	if !errors.As(err, &ve) || strings.Join(ve.Have, ",") != "1.30,1.31" {
		t.Errorf("1.29: %v", err)
	}
}

func TestEKSAReleaseName(t *testing.T) {
	for in, want := range map[string]string{"v0.19.0": "eksa-v0-19-0", "v0.21.3+build.7": "eksa-v0-21-3-plus-build-7"} {
		if got := EKSAReleaseName(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
}
