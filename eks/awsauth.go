package eks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/token"
)

// AuthMapping is one aws-auth entry as EKS reads it.
type AuthMapping struct {
	// Kind is role, user or account.
	Kind     string   `json:"kind"`
	ARN      string   `json:"arn"`
	Username string   `json:"username,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	// Source is the key it sits under ("aws-auth mapRoles").
	Source string `json:"source"`
}

func (m AuthMapping) String() string {
	if m.Kind == "account" {
		return "account " + m.ARN
	}
	return fmt.Sprintf("%s %s → %s [%s]", m.Kind, m.ARN, m.Username, strings.Join(m.Groups, ", "))
}

// AWSAuth is ConfigMap kube-system/aws-auth as read.
type AWSAuth struct {
	// Object is the ConfigMap as the API returned it; nil when missing.
	Object   *unstructured.Unstructured
	Mappings []AuthMapping
	// Where says where it was read ("https://….eks.amazonaws.com").
	Where string
}

// ParseAWSAuth reads the mapRoles, mapUsers and mapAccounts of aws-auth
// (YAML strings; keys in any case, as the authenticator decodes them
// through JSON).
func ParseAWSAuth(cm *unstructured.Unstructured) ([]AuthMapping, error) {
	if cm == nil {
		return nil, nil
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	type raw struct {
		RoleARN  string   `json:"rolearn"`
		UserARN  string   `json:"userarn"`
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	}
	var out []AuthMapping
	for _, k := range []struct{ key, kind string }{{"mapRoles", "role"}, {"mapUsers", "user"}} {
		var list []raw
		if s := strings.TrimSpace(data[k.key]); s != "" && s != `""` {
			if err := sigsyaml.Unmarshal([]byte(s), &list); err != nil {
				return nil, fmt.Errorf("could not parse aws-auth %s: %w", k.key, err)
			}
		}
		for _, e := range list {
			arn := e.RoleARN
			if k.kind == "user" {
				arn = e.UserARN
			}
			out = append(out, AuthMapping{Kind: k.kind, ARN: arn, Username: e.Username, Groups: e.Groups, Source: "aws-auth " + k.key})
		}
	}
	if s := strings.TrimSpace(data["mapAccounts"]); s != "" && s != `""` {
		var accts []string
		if err := sigsyaml.Unmarshal([]byte(s), &accts); err != nil {
			return nil, fmt.Errorf("could not parse aws-auth mapAccounts: %w", err)
		}
		for _, a := range accts {
			out = append(out, AuthMapping{Kind: "account", ARN: a, Source: "aws-auth mapAccounts"})
		}
	}
	return out, nil
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
		return nil, fmt.Errorf("could not get AWS credentials for a token: %s", oneLine(err.Error()))
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
	maps, err := ParseAWSAuth(cm)
	if err != nil {
		return nil, err
	}
	return &AWSAuth{Object: cm, Mappings: maps, Where: cfg.Host}, nil
}
