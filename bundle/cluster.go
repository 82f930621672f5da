package bundle

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/kubeerr"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// The EKS Anywhere resources read from a management or standalone cluster.
// Only the dynamic client is used: the typed clientset would add tens of
// milliseconds of init to every kubeiam-core start, token signing included.
var (
	clustersGVR     = schema.GroupVersionResource{Group: "anywhere.eks.amazonaws.com", Version: "v1alpha1", Resource: "clusters"}
	bundlesGVR      = schema.GroupVersionResource{Group: "anywhere.eks.amazonaws.com", Version: "v1alpha1", Resource: "bundles"}
	eksaReleasesGVR = schema.GroupVersionResource{Group: "anywhere.eks.amazonaws.com", Version: "v1alpha1", Resource: "eksareleases"}
)

// eksaSystem is where EKS Anywhere keeps its EKSARelease objects.
const eksaSystem = "eksa-system"

// ClusterSource reads the Bundles of an EKS Anywhere cluster from the API.
type ClusterSource struct {
	Kubeconfig string // the admin kubeconfig (<cluster>/<cluster>-eks-a-cluster.kubeconfig)
	Context    string // kubeconfig context; empty: its current context
	Name       string // EKS-A Cluster; empty: from the kubeconfig's file name, else the only Cluster
	Namespace  string // of the Cluster; empty: default
	Client     dynamic.Interface
}

// FoundBundles is the Bundles object of a cluster and the path to it.
type FoundBundles struct {
	Bundles     *Bundles
	ClusterName string
	KubeVersion string   // the Cluster's spec.kubernetesVersion
	Trail       []string // which objects were read, in order
}

// FindBundles finds a cluster's Bundles the way EKS Anywhere itself does:
// the Cluster's spec.bundlesRef, else the EKSARelease named after
// spec.eksaVersion (eksa-system/eksa-v0-19-0 for v0.19.0), else the Bundles
// with the Cluster's own name and namespace (clusters from before either
// field existed, and what the published `kubectl get bundles <cluster>`
// instructions read).
func FindBundles(ctx context.Context, src *ClusterSource) (*FoundBundles, error) {
	client := src.Client
	if client == nil {
		var err error
		if client, err = DynamicClient(src.Kubeconfig, src.Context); err != nil {
			return nil, err
		}
	}
	ns := src.Namespace
	if ns == "" {
		ns = "default"
	}
	name := src.Name
	found := &FoundBundles{}
	if name == "" {
		name = clusterNameFromKubeconfig(src.Kubeconfig)
		if name != "" {
			found.Trail = append(found.Trail, fmt.Sprintf("cluster name %s taken from the kubeconfig file name", name))
		}
	}
	if name == "" {
		list, err := client.Resource(clustersGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("could not list EKS Anywhere Clusters in namespace %s: %w", ns, err)
		}
		var names []string
		for _, it := range list.Items {
			names = append(names, it.GetName())
		}
		sort.Strings(names)
		switch len(names) {
		case 0:
			return nil, fmt.Errorf("no EKS Anywhere Cluster in namespace %s: pass --cluster NAME (and --namespace)", ns)
		case 1:
			name = names[0]
		default:
			return nil, fmt.Errorf("%d EKS Anywhere Clusters in namespace %s (%s): pick one with --cluster", len(names), ns, strings.Join(names, ", "))
		}
	}
	found.ClusterName = name

	bName, bNS := name, ns
	cl, err := client.Resource(clustersGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		found.Trail = append(found.Trail, fmt.Sprintf("no Cluster %s/%s: reading the Bundles of the same name", ns, name))
	case err != nil:
		return nil, fmt.Errorf("could not get Cluster %s/%s: %w", ns, name, err)
	default:
		found.KubeVersion, _, _ = unstructured.NestedString(cl.Object, "spec", "kubernetesVersion")
		refName, _, _ := unstructured.NestedString(cl.Object, "spec", "bundlesRef", "name")
		refNS, _, _ := unstructured.NestedString(cl.Object, "spec", "bundlesRef", "namespace")
		eksaVersion, _, _ := unstructured.NestedString(cl.Object, "spec", "eksaVersion")
		switch {
		case refName != "":
			bName, bNS = refName, refNS
			if bNS == "" {
				bNS = ns
			}
			found.Trail = append(found.Trail, fmt.Sprintf("Cluster %s/%s: spec.bundlesRef names Bundles %s/%s", ns, name, bNS, bName))
		case eksaVersion != "":
			relName := EKSAReleaseName(eksaVersion)
			rel, err := client.Resource(eksaReleasesGVR).Namespace(eksaSystem).Get(ctx, relName, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("could not get EKSARelease %s/%s for eksaVersion %s of Cluster %s/%s: %w", eksaSystem, relName, eksaVersion, ns, name, err)
			}
			bName, _, _ = unstructured.NestedString(rel.Object, "spec", "bundlesRef", "name")
			bNS, _, _ = unstructured.NestedString(rel.Object, "spec", "bundlesRef", "namespace")
			if bName == "" {
				return nil, fmt.Errorf("no spec.bundlesRef.name in EKSARelease %s/%s", eksaSystem, relName)
			}
			if bNS == "" {
				bNS = eksaSystem
			}
			found.Trail = append(found.Trail, fmt.Sprintf("Cluster %s/%s: spec.eksaVersion %s -> EKSARelease %s/%s -> Bundles %s/%s", ns, name, eksaVersion, eksaSystem, relName, bNS, bName))
		default:
			found.Trail = append(found.Trail, fmt.Sprintf("Cluster %s/%s has neither spec.bundlesRef nor spec.eksaVersion: Bundles of the same name", ns, name))
		}
	}
	u, err := client.Resource(bundlesGVR).Namespace(bNS).Get(ctx, bName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("could not get Bundles %s/%s: %w", bNS, bName, err)
	}
	var b Bundles
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &b); err != nil {
		return nil, fmt.Errorf("could not decode Bundles %s/%s: %w", bNS, bName, err)
	}
	found.Bundles = &b
	found.Trail = append(found.Trail, fmt.Sprintf("Bundles %s/%s (number %d)", bNS, bName, b.Spec.Number))
	return found, nil
}

// EKSAReleaseName is the name EKS Anywhere gives the EKSARelease of a
// version: v0.19.0 -> eksa-v0-19-0, v0.19.0+build.1 -> eksa-v0-19-0-plus-build-1.
func EKSAReleaseName(version string) string {
	version = strings.ReplaceAll(version, "+", "-plus-")
	return "eksa-" + strings.ReplaceAll(version, ".", "-")
}

// clusterNameFromKubeconfig reads <cluster> from the admin kubeconfig name
// EKS Anywhere writes, <cluster>-eks-a-cluster.kubeconfig.
func clusterNameFromKubeconfig(path string) string {
	base := filepath.Base(path)
	if name, ok := strings.CutSuffix(base, "-eks-a-cluster.kubeconfig"); ok {
		return name
	}
	return ""
}

// DynamicClient builds a dynamic client from a kubeconfig file.
func DynamicClient(kubeconfig, context string) (dynamic.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("could not load kubeconfig: %w", kubeerr.Scrub(err))
	}
	cfg.Timeout = 30 * time.Second
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("could not build Kubernetes client: %w", err)
	}
	return c, nil
}
