package kubeconfig

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/internal/input"
)

// The ConfigMap in which EKS Anywhere stores the authenticator's cluster ID
// (`config.yaml: "clusterID: <uuid>"`), created once and kept on upgrade.
const (
	ClusterIDNamespace = "kube-system"
	ClusterIDConfigMap = "aws-iam-authenticator"
	clusterIDKey       = "config.yaml"
)

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// FetchClusterID reads the cluster ID from the cluster's
// kube-system/aws-iam-authenticator ConfigMap. It uses the dynamic client:
// the typed clientset would add tens of milliseconds of init to every
// kubeiam start, including `kubeiam token`.
func FetchClusterID(ctx context.Context, cfg *rest.Config) (string, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("could not make a client for %s: %w", cfg.Host, err)
	}
	cm, err := dc.Resource(configMapsGVR).Namespace(ClusterIDNamespace).Get(ctx, ClusterIDConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("could not read cluster ID: configmap %s/%s not found on %s (is AWS IAM Authenticator enabled on this cluster?)", ClusterIDNamespace, ClusterIDConfigMap, cfg.Host)
	}
	if err != nil {
		return "", fmt.Errorf("could not read cluster ID from %s: %w", cfg.Host, err)
	}
	data, _, _ := unstructuredString(cm.Object, "data", clusterIDKey)
	if data == "" {
		return "", fmt.Errorf("could not read cluster ID: configmap %s/%s on %s has no %q", ClusterIDNamespace, ClusterIDConfigMap, cfg.Host, clusterIDKey)
	}
	return ParseClusterID(data)
}

// ParseClusterID reads clusterID from the authenticator's config.yaml.
func ParseClusterID(configYAML string) (string, error) {
	var c struct {
		ClusterID string `json:"clusterID"`
	}
	if err := yaml.Unmarshal([]byte(configYAML), &c); err != nil {
		return "", fmt.Errorf("could not parse authenticator config.yaml: %w", err)
	}
	if err := ValidateClusterID(c.ClusterID); err != nil {
		return "", fmt.Errorf("could not read cluster ID from authenticator config.yaml: %w", err)
	}
	return c.ClusterID, nil
}

// ValidateClusterID accepts what aws-iam-authenticator accepts as an ID (see
// input.ClusterID).
func ValidateClusterID(id string) error {
	return input.ClusterID("cluster ID", id)
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur, ok = m[f]
		if !ok {
			return "", false, nil
		}
	}
	s, ok := cur.(string)
	return s, ok, nil
}
