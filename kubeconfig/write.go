package kubeconfig

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/handover"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/token"
)

// WriteInput describes the kubeconfig of one cluster for IAM users.
type WriteInput struct {
	// Cluster is the EKS Anywhere cluster name: the kubeconfig names its
	// cluster NAME and its user and context NAME-aws, as EKS-A does.
	Cluster string

	// From is the admin kubeconfig to take server and CA from and to read
	// the cluster ID through; "" means EKS-A's ./NAME/NAME-eks-a-cluster.kubeconfig.
	From string
	// Server and CAFile replace the admin kubeconfig as the source of the
	// endpoint and CA; both or neither.
	Server string
	CAFile string
	// ClusterID skips reading it from the cluster.
	ClusterID string

	// ExecCommand is the plugin to run: "kubeiam" (default) or
	// "aws-iam-authenticator". ExecAbsolute writes its absolute path.
	ExecCommand  string
	ExecAbsolute bool
	// ExecAPIVersion is "v1beta1" (default, what EKS-A writes) or "v1".
	ExecAPIVersion string
	Profile        string
	RoleARN        string
	// Region, when set, is passed to the plugin as --region (EKS clusters:
	// the region of the cluster, whatever the profile's region is).
	Region string
	// Env entries for the exec block, as K=V.
	Env []string

	// Executable is the path of the running kubeiam, for ExecAbsolute;
	// "" means os.Executable.
	Executable string
	// RESTConfig, when set, is used to read the cluster ID instead of a
	// config built from the admin kubeconfig (tests).
	RESTConfig *rest.Config
}

// Names as EKS Anywhere writes them in <cluster>-aws.kubeconfig.
func (in *WriteInput) contextName() string { return in.Cluster + "-aws" }

// DefaultAdminKubeconfig is where EKS Anywhere leaves the admin kubeconfig.
func DefaultAdminKubeconfig(cluster string) string {
	return filepath.Join(cluster, cluster+"-eks-a-cluster.kubeconfig")
}

// DefaultOutput is where EKS Anywhere writes the IAM kubeconfig.
func DefaultOutput(cluster string) string {
	return filepath.Join(cluster, cluster+"-aws.kubeconfig")
}

// Entries are the three named entries that make up one cluster's access.
type Entries struct {
	ClusterName string
	Cluster     *clientcmdapi.Cluster
	UserName    string
	User        *clientcmdapi.AuthInfo
	ContextName string
	Context     *clientcmdapi.Context
	ClusterID   string
}

// Build resolves the sources (admin kubeconfig or flags, cluster ID from the
// cluster when not given) and returns the entries to write.
func Build(ctx context.Context, in WriteInput) (*Entries, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	cluster := &clientcmdapi.Cluster{}
	var admin *clientcmdapi.Config
	var adminContext string
	from := in.From
	if in.Server != "" {
		ca, err := readCA(in.CAFile)
		if err != nil {
			return nil, err
		}
		cluster.Server = in.Server
		cluster.CertificateAuthorityData = ca
	}
	// The admin kubeconfig is needed for the endpoint unless flags gave it,
	// and for the cluster ID unless that was given too.
	needAdmin := in.Server == "" || (in.ClusterID == "" && in.RESTConfig == nil)
	if needAdmin {
		if from == "" {
			from = DefaultAdminKubeconfig(in.Cluster)
		}
		var err error
		admin, err = LoadFile(from)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("could not read admin kubeconfig %s: file does not exist", from)
			}
			return nil, err
		}
		name, c, ctxName, err := pickCluster(admin, in.Cluster, from)
		if err != nil {
			return nil, err
		}
		adminContext = ctxName
		if in.Server == "" {
			for _, f := range []struct{ what, v string }{{"server", c.Server}, {"tls-server-name", c.TLSServerName}, {"proxy-url", c.ProxyURL}} {
				if err := input.Text(fmt.Sprintf("%s of cluster %q in %s", f.what, name, from), f.v); err != nil {
					return nil, err
				}
			}
			cluster.Server = c.Server
			cluster.TLSServerName = c.TLSServerName
			cluster.ProxyURL = c.ProxyURL
			cluster.InsecureSkipTLSVerify = c.InsecureSkipTLSVerify
			ca := c.CertificateAuthorityData
			if len(ca) == 0 && c.CertificateAuthority != "" {
				p := c.CertificateAuthority
				if !filepath.IsAbs(p) {
					p = filepath.Join(filepath.Dir(from), p)
				}
				if ca, err = readCA(p); err != nil {
					return nil, err
				}
			}
			if len(ca) > 0 {
				if err := validatePEM(ca); err != nil {
					return nil, fmt.Errorf("could not use CA of cluster %q in %s: %w", name, from, err)
				}
			}
			cluster.CertificateAuthorityData = ca
		}
	}
	if cluster.Server == "" {
		return nil, fmt.Errorf("could not find a server for cluster %q in %s", in.Cluster, from)
	}

	id := in.ClusterID
	if id == "" {
		rc := in.RESTConfig
		if rc == nil {
			var err error
			rc, err = clientcmd.NewNonInteractiveClientConfig(*admin, adminContext, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
			if err != nil {
				return nil, fmt.Errorf("could not use admin kubeconfig %s: %w", from, err)
			}
		}
		var err error
		if id, err = FetchClusterID(ctx, rc); err != nil {
			return nil, err
		}
	}
	if err := ValidateClusterID(id); err != nil {
		return nil, err
	}

	execCfg, err := ExecConfig(in, id)
	if err != nil {
		return nil, err
	}
	e := &Entries{
		ClusterName: in.Cluster,
		Cluster:     cluster,
		UserName:    in.contextName(),
		User:        &clientcmdapi.AuthInfo{Exec: execCfg},
		ContextName: in.contextName(),
		Context:     &clientcmdapi.Context{Cluster: in.Cluster, AuthInfo: in.contextName()},
		ClusterID:   id,
	}
	return e, nil
}

// validate checks every value Build writes into the kubeconfig before
// anything is read or fetched: the name (it becomes file names), the profile,
// role and env values (a newline in one would forge entries), the role's
// syntax (STS would refuse it on every kubectl call). Errors name the flag.
func (in *WriteInput) validate() error {
	if err := ValidateClusterName(in.Cluster); err != nil {
		return err
	}
	if (in.Server == "") != (in.CAFile == "") {
		return errors.New("--server and --certificate-authority go together")
	}
	if in.Server != "" {
		if err := input.Text("--server", in.Server); err != nil {
			return err
		}
	}
	if in.ClusterID != "" {
		if err := input.ClusterID("--cluster-id", in.ClusterID); err != nil {
			return err
		}
	}
	if err := input.Text("--exec-command", in.ExecCommand); err != nil {
		return err
	}
	if err := input.Text("--profile", in.Profile); err != nil {
		return err
	}
	if err := ValidateRoleARN("--role-arn", in.RoleARN); err != nil {
		return err
	}
	for _, kv := range in.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("could not use --env %q: want NAME=VALUE", kv)
		}
		if err := input.Env("--env", kv); err != nil {
			return err
		}
	}
	return nil
}

// ValidateClusterName accepts the names kubeiam builds paths and entry names
// from (NAME/NAME-aws.kubeconfig, user and context NAME-aws): DNS-1123 labels,
// so "../escape" or "a/b" never leave the working directory. Upper-case
// letters pass: EKS Anywhere allows them in cluster names ("testCluster-123"
// in its own validation message), and they are as safe in a path.
func ValidateClusterName(name string) error {
	if name == "" {
		return errors.New("--cluster is empty")
	}
	if errs := validation.IsDNS1123Label(strings.ToLower(name)); len(errs) > 0 {
		return &input.Error{Name: "--cluster", Value: name,
			Reason: "a cluster name is a DNS-1123 label: at most 63 letters, digits and '-', starting and ending with a letter or digit"}
	}
	return nil
}

// ValidateRoleARN checks a role ARN from flag name ("" passes: no role).
func ValidateRoleARN(name, arn string) error {
	if arn == "" {
		return nil
	}
	if _, err := token.ParseRoleARN(arn); err != nil {
		return input.Invalid(name, arn, err)
	}
	return nil
}

// pickCluster finds the admin kubeconfig's entry for the cluster: the one
// named like it (EKS-A's layout), else the current context's, else the only
// one. It also returns a context that uses it, to talk to the cluster.
func pickCluster(cfg *clientcmdapi.Config, name, file string) (string, *clientcmdapi.Cluster, string, error) {
	chosen := ""
	if _, ok := cfg.Clusters[name]; ok {
		chosen = name
	} else if c, ok := cfg.Contexts[cfg.CurrentContext]; ok && cfg.Clusters[c.Cluster] != nil {
		chosen = c.Cluster
	} else if len(cfg.Clusters) == 1 {
		for n := range cfg.Clusters {
			chosen = n
		}
	}
	if chosen == "" {
		return "", nil, "", fmt.Errorf("could not find cluster %q in %s (clusters: %s)", name, file, strings.Join(slices.Sorted(maps.Keys(cfg.Clusters)), ", "))
	}
	ctxName := ""
	if c, ok := cfg.Contexts[cfg.CurrentContext]; ok && c.Cluster == chosen {
		ctxName = cfg.CurrentContext
	} else {
		for _, n := range slices.Sorted(maps.Keys(cfg.Contexts)) {
			if cfg.Contexts[n].Cluster == chosen {
				ctxName = n
				break
			}
		}
	}
	if ctxName == "" {
		return "", nil, "", fmt.Errorf("could not find a context for cluster %q in %s", chosen, file)
	}
	return chosen, cfg.Clusters[chosen], ctxName, nil
}

func readCA(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read certificate authority: %w", err)
	}
	if err := validatePEM(data); err != nil {
		return nil, fmt.Errorf("could not use certificate authority %s: %w", path, err)
	}
	return data, nil
}

// validatePEM insists on at least one parseable certificate and nothing but
// certificates: a key or a DER file passed by mistake would otherwise only
// fail at the first kubectl call, with a TLS error far from its cause.
func validatePEM(data []byte) error {
	n := 0
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("not a PEM certificate (found a %q block)", b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("not a valid certificate: %w", err)
		}
		n++
	}
	if n == 0 {
		return errors.New("not a PEM certificate")
	}
	return nil
}

// ExecConfig is the exec block kubeiam writes for in and cluster ID id:
// command, API version, role, region and profile from in (the profile as an
// argument where the client takes one). Every writer uses it, so that
// entries for the same identity read the same whoever wrote them.
func ExecConfig(in WriteInput, id string) (*clientcmdapi.ExecConfig, error) {
	command := in.ExecCommand
	if command == "" {
		command = string(ClientKubeiam)
	}
	client := ClientOf(command)
	if client != ClientKubeiam && client != ClientAuthenticator {
		return nil, fmt.Errorf("unsupported exec command %q: use kubeiam or aws-iam-authenticator", command)
	}
	var apiVersion string
	switch in.ExecAPIVersion {
	case "", "v1beta1", ExecAPIv1beta1:
		apiVersion = ExecAPIv1beta1
	case "v1", ExecAPIv1:
		apiVersion = ExecAPIv1
	default:
		return nil, fmt.Errorf("unknown exec API version %q: use v1beta1 or v1", in.ExecAPIVersion)
	}
	if in.ExecAbsolute && !filepath.IsAbs(command) {
		abs, err := absoluteCommand(command, client, in.Executable)
		if err != nil {
			return nil, err
		}
		command = abs
	}
	e := &clientcmdapi.ExecConfig{
		APIVersion: apiVersion,
		Command:    command,
		Args:       []string{"token", "-i", id},
		// v1 requires it; for v1beta1 it is what client-go defaults to on
		// load, and writing it keeps a second identical write a no-op.
		InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
		InstallHint:     installHint(client),
	}
	d := dialects[client]
	e.Args = withFlag(e.Args, d.role, d.roleCanon, in.RoleARN)
	if in.Region != "" {
		e.Args = withFlag(e.Args, []string{"--region"}, "--region", in.Region)
	}
	for _, kv := range in.Env {
		k, v, _ := strings.Cut(kv, "=")
		e.Env = withEnv(e.Env, k, v)
	}
	if in.Profile != "" {
		if len(d.profile) > 0 {
			e.Args = withFlag(e.Args, d.profile, d.profileCanon, in.Profile)
		} else {
			e.Env = withEnv(e.Env, "AWS_PROFILE", in.Profile)
		}
	}
	return e, nil
}

func absoluteCommand(command string, client Client, executable string) (string, error) {
	if client == ClientKubeiam {
		if executable == "" {
			// Set by the front for kubeiam-core: the front is what a
			// kubeconfig must run (kubeiam-core is its back end).
			executable = os.Getenv(handover.FrontEnv)
		}
		if executable == "" {
			exe, err := os.Executable()
			if err != nil {
				return "", fmt.Errorf("could not find the kubeiam executable: %w", err)
			}
			executable = exe
		}
		if r, err := filepath.EvalSymlinks(executable); err == nil {
			executable = r
		}
		return executable, input.Text("--exec-absolute path", executable)
	}
	p, err := exec.LookPath(command)
	if err != nil {
		return "", fmt.Errorf("could not find %s in PATH for --exec-absolute: %w", command, err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return "", err
	}
	return p, input.Text("--exec-absolute path", p)
}

func installHint(c Client) string {
	if c == ClientAuthenticator {
		return `aws-iam-authenticator is needed to log in to this cluster.
Install the version that matches the cluster with: kubeiam bundle install
or see https://github.com/kubernetes-sigs/aws-iam-authenticator#4-set-up-kubectl-to-use-authentication-tokens-provided-by-aws-iam-authenticator-for-kubernetes`
	}
	return `kubeiam is needed to log in to this cluster (it makes AWS IAM tokens for kubectl).
Install it (kubeiam and kubeiam-core) with: go install github.com/kubeiam/kubeiam/cmd/...@latest
and make sure both are in PATH.`
}

// Standalone is the kubeconfig of e alone, current-context set.
func (e *Entries) Standalone() *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	e.MergeInto(cfg, true)
	return cfg
}

// MergeInto replaces the same-named cluster, user and context in cfg and
// leaves everything else alone; current-context changes only when asked.
func (e *Entries) MergeInto(cfg *clientcmdapi.Config, setCurrent bool) {
	cfg.Clusters[e.ClusterName] = e.Cluster
	cfg.AuthInfos[e.UserName] = e.User
	cfg.Contexts[e.ContextName] = e.Context
	if setCurrent {
		cfg.CurrentContext = e.ContextName
	}
}
