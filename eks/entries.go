package eks

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/kubeconfig"
	"github.com/kubeiam/kubeiam/token"
)

// EntryOptions say whose entries to write for a cluster.
type EntryOptions struct {
	// Profile is the AWS profile the plugin uses ("" for the default chain).
	Profile string
	// RoleARN is the role the plugin assumes; it also names the user and
	// context (ARN@ROLE), so a second role for the same cluster gets entries
	// of its own instead of replacing the first.
	RoleARN string
	// Alias names the context, UserAlias the user, instead of the ARN.
	Alias, UserAlias string
	// ExecCommand, ExecAPIVersion as in kubeconfig.WriteInput.
	ExecCommand, ExecAPIVersion string
}

// validClusterName is EKS's own rule for cluster names,
// ^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$, checked by hand: compiled as a package
// variable, that pattern's {0,99} cost every kubeiam-core start ~1.3 ms of
// init (1,330 allocations), whichever verb ran.
func validClusterName(name string) bool {
	if len(name) == 0 || len(name) > 100 {
		return false
	}
	for i, r := range name {
		alnum := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		if !alnum && (i == 0 || r != '-' && r != '_') {
			return false
		}
	}
	return true
}

// ValidateName checks a cluster name before any call: EKS's own pattern.
func ValidateName(name string) error {
	if !validClusterName(name) {
		return &input.Error{Name: "--eks", Value: name, Reason: "an EKS cluster name is 1-100 letters, digits, '-' and '_', starting with a letter or digit"}
	}
	return nil
}

// Validate checks every value the entries will carry, before any call.
func (o EntryOptions) Validate() error {
	for _, f := range []struct{ name, v string }{{"--profile", o.Profile}, {"--alias", o.Alias}, {"--user-alias", o.UserAlias}} {
		if err := input.Text(f.name, f.v); err != nil {
			return err
		}
	}
	return kubeconfig.ValidateRoleARN("--role-arn", o.RoleARN)
}

// Entries builds the cluster, user and context of c, named as the AWS CLI
// names them (cluster, user and context by the ARN, unless Alias or
// UserAlias) so both tools' entries line up, with the user's exec running
// `kubeiam token -i ID --region R [--profile P] [--role-arn ROLE]`.
func Entries(c Cluster, o EntryOptions) (*kubeconfig.Entries, error) {
	if !c.Usable() {
		return nil, &StatusError{Cluster: c}
	}
	if c.Endpoint == "" {
		return nil, fmt.Errorf("could not use EKS cluster %s in %s: it has no endpoint", c.Name, c.Region)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	id := c.ClusterID()
	if err := input.ClusterID("cluster ID", id); err != nil {
		return nil, err
	}
	exec, err := kubeconfig.ExecConfig(kubeconfig.WriteInput{
		ExecCommand: o.ExecCommand, ExecAPIVersion: o.ExecAPIVersion,
		Profile: o.Profile, RoleARN: o.RoleARN, Region: c.Region,
	}, id)
	if err != nil {
		return nil, err
	}
	base := c.ARN
	if o.RoleARN != "" {
		r, err := token.ParseRoleARN(o.RoleARN)
		if err != nil {
			return nil, err
		}
		base += "@" + r.Name
	}
	user, ctx := base, base
	if o.UserAlias != "" {
		user = o.UserAlias
	}
	if o.Alias != "" {
		ctx = o.Alias
	}
	return &kubeconfig.Entries{
		ClusterName: c.ARN,
		Cluster:     &clientcmdapi.Cluster{Server: c.Endpoint, CertificateAuthorityData: c.CAData},
		UserName:    user,
		User:        &clientcmdapi.AuthInfo{Exec: exec},
		ContextName: ctx,
		Context:     &clientcmdapi.Context{Cluster: c.ARN, AuthInfo: user},
		ClusterID:   id,
	}, nil
}

// StatusError is a cluster whose status allows no kubeconfig yet (or any more).
type StatusError struct{ Cluster Cluster }

func (e *StatusError) Error() string {
	return fmt.Sprintf("could not write a kubeconfig for EKS cluster %s in %s: its status is %s (ACTIVE or UPDATING needed)", e.Cluster.Name, e.Cluster.Region, e.Cluster.Status)
}

// DiscoveredExtension marks a context that `kubeiam kubeconfig discover`
// wrote, so that --prune removes only those; its value says where it was
// found.
const DiscoveredExtension = "kubeiam.io/discovered"

// Mark is the content of the DiscoveredExtension.
type Mark struct {
	Profile string `json:"profile"`
	Region  string `json:"region"`
	ARN     string `json:"arn"`
}

// MarkOf reads the discovery mark of a context; ok is false when discovery
// did not write it.
func MarkOf(c *clientcmdapi.Context) (Mark, bool) {
	if c == nil {
		return Mark{}, false
	}
	obj, ok := c.Extensions[DiscoveredExtension]
	if !ok {
		return Mark{}, false
	}
	var raw []byte
	switch v := obj.(type) {
	case *runtime.Unknown:
		raw = v.Raw
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return Mark{}, false
		}
		raw = b
	}
	var m Mark
	if err := json.Unmarshal(raw, &m); err != nil || m.ARN == "" {
		return Mark{}, false
	}
	return m, true
}

// setMark marks c as written by discovery.
func setMark(c *clientcmdapi.Context, m Mark) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if c.Extensions == nil {
		c.Extensions = map[string]runtime.Object{}
	}
	c.Extensions[DiscoveredExtension] = &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}
	return nil
}
