package installer

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

// eksaDifferences are the ways kubeiam's manifest deliberately differs from
// EKS Anywhere's (testdata/eksa/fields.txt), by path prefix,
// each with its reason. Anything else that differs fails the test, and so
// does an entry here that no longer matches a difference.
var eksaDifferences = []struct{ path, why string }{
	{"Namespace /eksa-system", "the CA Secret lives in eksa-system; EKS-A creates the namespace elsewhere, kubeiam's install must work on a cluster without it"},
	{"ConfigMap kube-system/aws-auth: metadata.annotations.kubeiam/owned-arns", "records which entries kubeiam wrote, so sync leaves ones others added (node roles) alone"},
	{"DaemonSet kube-system/aws-iam-authenticator: metadata.annotations.seccomp.security.alpha.kubernetes.io/pod", "the alpha annotation is ignored since Kubernetes 1.27; the pod's securityContext.seccompProfile says the same"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.metadata.annotations.scheduler.alpha.kubernetes.io/critical-pod", "ignored since Kubernetes 1.16; priorityClassName system-node-critical does it"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.priorityClassName", "keeps the authenticator scheduled under pressure (what critical-pod used to do)"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.securityContext", "the pod runs as 65532 (uid, gid, non-root, RuntimeDefault seccomp) instead of the container alone setting runAsUser"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.containers[aws-iam-authenticator].securityContext.runAsUser", "set at pod level instead (spec.template.spec.securityContext)"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.containers[aws-iam-authenticator].securityContext.readOnlyRootFilesystem", "the server writes only to its state directory"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.containers[aws-iam-authenticator].ports", "names the metrics/health port (21363) so probes and the e2e rig can reach it"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.initContainers", "no chown init container (and no extra image to pull, no root container): the host files are owned by 65532 when placed, as `kubeiam server init` tells the user to do"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.containers[aws-iam-authenticator].volumeMounts[cert]", "the pki directory is mounted whole as the state dir (volume state) instead of cert.pem and key.pem one by one"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.containers[aws-iam-authenticator].volumeMounts[key]", "as cert: part of the state directory mount"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.containers[aws-iam-authenticator].volumeMounts[state]", "the state directory, from the host's pki/ directory"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.volumes[cert]", "as the cert mount"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.volumes[key]", "as the key mount"},
	{"DaemonSet kube-system/aws-iam-authenticator: spec.template.spec.volumes[state]", "as the state mount"},
}

// TestRenderMatchesEKSAnywhere compares kubeiam's rendering of the seed field
// by field with what EKS Anywhere's own template renders for it, so
// "the same objects EKS-A installs" is checked, not only kubeiam's golden
// file against itself.
func TestRenderMatchesEKSAnywhere(t *testing.T) {
	const (
		image     = "public.ecr.aws/eks-distro/kubernetes-sigs/aws-iam-authenticator:v0.7.2-eks-1-31-1"
		clusterID = "5b4cd0c4-93b6-4b2a-8f4e-0d2f8a4c9e11"
	)
	s, err := load(t, "testdata/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Render(s, RenderOptions{Image: image, ClusterID: clusterID})
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]map[string]string{}
	for _, o := range objs {
		b, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		json.Unmarshal(b, &v)
		ours[objectID(v)] = flatten(normalize(v))
	}

	// What EKS-A installs for the seed, as field facts (see the file's
	// header for where they were read and with which values).
	theirs, err := readFieldFacts("testdata/eksa/fields.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs) != 6 {
		t.Fatalf("EKS-A's facts name %d objects, want 6 (RBAC, DaemonSet, two ConfigMaps)", len(theirs))
	}

	var diffs []string
	for _, id := range sortedIDs(ours, theirs) {
		a, b := ours[id], theirs[id]
		if ours[id] == nil || theirs[id] == nil {
			only := "kubeiam"
			if ours[id] == nil {
				only = "EKS-A"
			}
			diffs = append(diffs, fmt.Sprintf("%s\tonly in %s", id, only))
			continue
		}
		for _, p := range sortedIDs(a, b) {
			av, aok := a[p]
			bv, bok := b[p]
			switch {
			case !aok:
				diffs = append(diffs, fmt.Sprintf("%s: %s\tonly in EKS-A (%v)", id, p, bv))
			case !bok:
				diffs = append(diffs, fmt.Sprintf("%s: %s\tonly in kubeiam (%v)", id, p, av))
			case av != bv:
				diffs = append(diffs, fmt.Sprintf("%s: %s\tkubeiam %v, EKS-A %v", id, p, av, bv))
			}
		}
	}
	used := make([]bool, len(eksaDifferences))
	for _, d := range diffs {
		path, _, _ := strings.Cut(d, "\t")
		i := slices.IndexFunc(eksaDifferences, func(e struct{ path, why string }) bool {
			return path == e.path || strings.HasPrefix(path, e.path+".") || strings.HasPrefix(path, e.path+"[")
		})
		if i < 0 {
			t.Errorf("differs from EKS Anywhere: %s", d)
			continue
		}
		used[i] = true
	}
	for i, e := range eksaDifferences {
		if !used[i] {
			t.Errorf("listed difference %q (%s) is gone: drop it from eksaDifferences", e.path, e.why)
		}
	}
}

// readFieldFacts reads "OBJECT: path = value" lines (# comments) into
// object → path → JSON value, the shape flatten gives.
func readFieldFacts(name string) (map[string]map[string]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, rest, ok1 := strings.Cut(line, ": ")
		path, val, ok2 := strings.Cut(rest, " = ")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s:%d: not OBJECT: path = value", name, i+1)
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][path] = val
	}
	return out, nil
}

func objectID(v map[string]any) string {
	md, _ := v["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	name, _ := md["name"].(string)
	kind, _ := v["kind"].(string)
	return kind + " " + ns + "/" + name
}

// normalize parses the aws-auth lists, which are YAML text inside the
// ConfigMap, so that entries compare by content and not by key order or
// indentation.
func normalize(v map[string]any) map[string]any {
	if data, ok := v["data"].(map[string]any); ok && objectID(v) == "ConfigMap kube-system/aws-auth" {
		for _, k := range []string{"mapRoles", "mapUsers"} {
			if s, ok := data[k].(string); ok {
				var parsed any
				if err := sigsyaml.Unmarshal([]byte(s), &parsed); err == nil {
					data[k] = parsed
				}
			}
		}
	}
	return v
}

// flatten turns an object into path → scalar. List items with a "name"
// (containers, volumes, env) or a "key" (tolerations) are addressed by it,
// so order does not count; other lists by index.
func flatten(v any) map[string]string {
	out := map[string]string{}
	var walk func(p string, v any)
	walk = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(strings.TrimPrefix(p+"."+k, "."), e)
			}
		case []any:
			for i, e := range x {
				id := fmt.Sprint(i)
				if m, ok := e.(map[string]any); ok {
					if n, ok := m["name"].(string); ok {
						id = n
					} else if n, ok := m["key"].(string); ok {
						id = n
					}
				}
				walk(p+"["+id+"]", e)
			}
		default:
			b, _ := json.Marshal(x)
			out[p] = string(b)
		}
	}
	if v != nil {
		walk("", v)
	}
	return out
}

func sortedIDs[V any](a, b map[string]V) []string {
	var ids []string
	for k := range a {
		ids = append(ids, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ids = append(ids, k)
		}
	}
	slices.Sort(ids)
	return ids
}
