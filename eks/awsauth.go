package eks

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/text"
	"github.com/kubeiam/kubeiam/kubeconfig"
	"github.com/kubeiam/kubeiam/mappings"
	"github.com/kubeiam/kubeiam/token"
)

// AWSAuth is ConfigMap kube-system/aws-auth as read.
type AWSAuth struct {
	// Object is the ConfigMap as the API returned it; nil when missing.
	Object   *unstructured.Unstructured
	Mappings []mappings.Mapping
	// Where says where it was read ("https://….eks.amazonaws.com").
	Where string
}

// RESTConfigFor reaches the cluster's own API at DescribeCluster's
// endpoint and CA with a kubeiam token signed by cfg's credentials: no
// kubeconfig needed. The token lives 14 minutes, longer than any read here.
func (c *AccessClient) RESTConfigFor(ctx context.Context, cl Cluster) (*rest.Config, error) {
	if cl.Endpoint == "" || len(cl.CAData) == 0 {
		return nil, fmt.Errorf("could not reach the API of cluster %s: EKS reports no endpoint or CA (status %s)", cl.Name, cl.Status)
	}
	ep, err := token.EndpointFor(c.Region, false, false)
	if err != nil {
		return nil, err
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("could not get AWS credentials for a token: %s", text.OneLine(err.Error()))
	}
	tok, err := token.Presign(ctx, creds, cl.ClusterID(), ep, time.Now())
	if err != nil {
		return nil, err
	}
	cfg := &rest.Config{Host: cl.Endpoint, BearerToken: tok.Token, TLSClientConfig: rest.TLSClientConfig{CAData: cl.CAData},
		UserAgent: "kubeiam", Timeout: 30 * time.Second}
	return cfg, nil
}

// ReadAWSAuth reads ConfigMap kube-system/aws-auth through cfg.
func ReadAWSAuth(ctx context.Context, cfg *rest.Config) (*AWSAuth, error) {
	kc, err := installer.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cm, err := kc.Get(ctx, "ConfigMap", "kube-system", "aws-auth")
	if err != nil {
		return nil, fmt.Errorf("could not read ConfigMap kube-system/aws-auth at %s: %w", cfg.Host, err)
	}
	maps, err := mappings.ParseAWSAuth(cm)
	if err != nil {
		return nil, err
	}
	return &AWSAuth{Object: cm, Mappings: maps, Where: cfg.Host}, nil
}

// SaveAWSAuth writes the ConfigMap as the API returned it to path (temp
// file and rename, mode 0600: it names every principal of the cluster).
// A missing aws-auth is saved as a comment saying so.
func SaveAWSAuth(path string, cm *unstructured.Unstructured) error {
	data := []byte("# ConfigMap kube-system/aws-auth did not exist\n")
	if cm != nil {
		var err error
		if data, err = sigsyaml.Marshal(cm.Object); err != nil {
			return fmt.Errorf("could not save aws-auth: %w", err)
		}
	}
	if err := kubeconfig.WriteAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("could not save aws-auth to %s: %w", path, err)
	}
	return nil
}
