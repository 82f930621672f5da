// Package bundle holds the cobra layer of `kubeiam bundle`; the logic is in
// package bundle at the module root.
package bundle

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/bundle"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// NewCmd builds `kubeiam bundle` and its verbs.
func NewCmd(io *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Find and install the aws-iam-authenticator and kubectl of an EKS Anywhere or EKS-D release",
		Long: `Find the client binaries that match a cluster's release, the way the EKS Anywhere
documentation does by hand (kubectl get bundles, curl the EKS-D manifest, yq),
and install them with the published SHA-256 and SHA-512 verified.

The EKS-D release manifest comes from one of:
  --manifest FILE|URL                   an EKS-D Release manifest
  --bundles FILE|URL --kube-version V   an EKS Anywhere Bundles object
  --kubeconfig ADMIN [--cluster NAME]   a live EKS Anywhere cluster`,
	}
	cmd.AddCommand(NewResolveCmd(io, nil), NewInstallCmd(io, nil))
	return cmd
}

// SourceFlags are the flags resolve and install share: where the release
// comes from, which asset, and how to reach it.
type SourceFlags struct {
	Manifest          string
	Bundles           string
	KubeVersion       string
	Kubeconfig        string
	Context           string
	Cluster           string
	Namespace         string
	Component         string
	OS                string
	Arch              string
	Mirrors           []string
	CAFile            string
	AllowInsecureHTTP bool
}

func (s *SourceFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.Manifest, "manifest", "", "EKS-D release manifest (file, file:// or https URL)")
	f.StringVar(&s.Bundles, "bundles", "", "EKS Anywhere Bundles object (file, file:// or https URL); needs --kube-version")
	f.StringVar(&s.KubeVersion, "kube-version", "", "Kubernetes minor version, e.g. 1.31 (with --kubeconfig: default the cluster's)")
	f.StringVar(&s.Kubeconfig, "kubeconfig", "", "admin kubeconfig of an EKS Anywhere cluster (<cluster>-eks-a-cluster.kubeconfig)")
	f.StringVar(&s.Context, "context", "", "kubeconfig context (default: its current context)")
	f.StringVar(&s.Cluster, "cluster", "", "EKS Anywhere Cluster name (default: from the kubeconfig file name, else the only Cluster)")
	f.StringVar(&s.Namespace, "namespace", "default", "namespace of the EKS Anywhere Cluster")
	f.StringVar(&s.Component, "component", bundle.ComponentAuthenticator, "client to pick: aws-iam-authenticator or kubectl")
	f.StringVar(&s.OS, "os", runtime.GOOS, "target operating system")
	f.StringVar(&s.Arch, "arch", runtime.GOARCH, "target architecture")
	f.StringArrayVar(&s.Mirrors, "mirror", nil, "rewrite URLs starting with FROM to start with TO (FROM=TO; repeatable; TO may be https, file:// or a directory)")
	f.StringVar(&s.CAFile, "ca-file", "", "PEM file of extra CAs to trust (SSL_CERT_FILE is honoured too)")
	f.BoolVar(&s.AllowInsecureHTTP, "allow-insecure-http", false, "allow plain http:// manifests and downloads")
}

// validate checks the flag combination; errors are usage errors (exit 2).
func (s *SourceFlags) validate(cmd *cobra.Command) error {
	n := 0
	for _, v := range []string{s.Manifest, s.Bundles, s.Kubeconfig} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return clierr.WithHint(clierr.Usagef("pass exactly one of --manifest, --bundles or --kubeconfig"),
			"for a cluster created with EKS Anywhere: --kubeconfig <cluster>/<cluster>-eks-a-cluster.kubeconfig")
	}
	if s.Bundles != "" && s.KubeVersion == "" {
		return clierr.WithHint(clierr.Usagef("--bundles needs --kube-version"), "the Kubernetes minor version of the cluster, e.g. --kube-version 1.31")
	}
	if s.Kubeconfig == "" {
		for _, name := range []string{"cluster", "context"} {
			if cmd.Flags().Changed(name) {
				return clierr.Usagef("--%s goes with --kubeconfig", name)
			}
		}
	}
	if s.Manifest != "" && s.KubeVersion != "" {
		return clierr.Usagef("--kube-version goes with --bundles or --kubeconfig: a manifest is one version already")
	}
	if s.Component != bundle.ComponentAuthenticator && s.Component != bundle.ComponentKubectl {
		return clierr.Usagef("unknown --component %q: use %s or %s", s.Component, bundle.ComponentAuthenticator, bundle.ComponentKubectl)
	}
	if s.OS == "" || s.Arch == "" || s.OS != strings.ToLower(s.OS) || s.Arch != strings.ToLower(s.Arch) {
		return clierr.Usagef("--os and --arch take Go names in lower case, e.g. linux and amd64")
	}
	for _, m := range s.Mirrors {
		if _, err := bundle.ParseMirror(m); err != nil {
			return clierr.Usagef("%s", err)
		}
	}
	return nil
}

func (s *SourceFlags) source() bundle.Source {
	src := bundle.Source{Manifest: s.Manifest, Bundles: s.Bundles, KubeVersion: s.KubeVersion}
	if s.Kubeconfig != "" {
		src.Cluster = &bundle.ClusterSource{Kubeconfig: s.Kubeconfig, Context: s.Context, Name: s.Cluster, Namespace: s.Namespace}
	}
	return src
}

func (s *SourceFlags) fetcher(io *iostreams.IOStreams) (*bundle.Fetcher, error) {
	client, err := bundle.NewHTTPClient(s.CAFile, s.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	f := &bundle.Fetcher{Client: client, AllowInsecureHTTP: s.AllowInsecureHTTP, Log: io.ErrOut}
	for _, m := range s.Mirrors {
		mm, _ := bundle.ParseMirror(m) // validated
		f.Mirrors = append(f.Mirrors, mm)
	}
	return f, nil
}

// withHint turns the package's typed errors into the top-level printer's
// hint line.
func withHint(err error) error {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return clierr.WithHint(err, "%s", h.Hint())
	}
	return err
}

func trail(io *iostreams.IOStreams, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(io.ErrOut, "using %s\n", l)
	}
}
