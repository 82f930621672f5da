package server

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeiam/kubeiam/bundle"
	"github.com/kubeiam/kubeiam/installer"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// imageFlags say where the server image comes from: --image as given, or
// the aws-iam-authenticator-image asset of an EKS-D release, found from
// its manifest or from EKS Anywhere Bundles and a Kubernetes version.
type imageFlags struct {
	Image       string
	Manifest    string
	Bundles     string
	KubeVersion string
}

func (f *imageFlags) add(cmd *cobra.Command, imageHelp string) {
	cmd.Flags().StringVar(&f.Image, "image", "", imageHelp)
	cmd.Flags().StringVar(&f.Manifest, "manifest", "", "EKS-D release manifest (FILE|URL) to take the image from")
	cmd.Flags().StringVar(&f.Bundles, "bundles", "", "EKS Anywhere Bundles (FILE|URL) to find the EKS-D release in")
	cmd.Flags().StringVar(&f.KubeVersion, "kube-version", "", "Kubernetes version for --bundles (default: the spec's kubernetesVersion)")
}

// resolve returns the image, resolving the EKS-D release when asked to;
// "" when no source was given.
func (f *imageFlags) resolve(ctx context.Context, io *iostreams.IOStreams, spec *installer.Spec) (string, error) {
	n := 0
	for _, s := range []string{f.Image, f.Manifest, f.Bundles} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return "", clierr.Usagef("give one of --image, --manifest, --bundles")
	case f.KubeVersion != "" && f.Bundles == "":
		return "", clierr.Usagef("--kube-version goes with --bundles")
	case f.Manifest == "" && f.Bundles == "":
		return f.Image, nil
	}
	src := bundle.Source{Manifest: f.Manifest, Bundles: f.Bundles, KubeVersion: f.KubeVersion}
	if src.Bundles != "" && src.KubeVersion == "" {
		if src.KubeVersion = spec.KubernetesVersion; src.KubeVersion == "" {
			return "", clierr.Usagef("--bundles needs --kube-version: the spec's Cluster has no kubernetesVersion")
		}
	}
	client, err := bundle.NewHTTPClient("", false)
	if err != nil {
		return "", err
	}
	res, err := bundle.Resolve(ctx, &bundle.Fetcher{Client: client, Log: io.ErrOut}, src)
	if err != nil {
		return "", fmt.Errorf("could not resolve the EKS-D release: %w", err)
	}
	for _, l := range res.Trail {
		fmt.Fprintln(io.ErrOut, l)
	}
	img, tag, err := res.Release.Image()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(io.ErrOut, "image %s (aws-iam-authenticator %s, EKS-D release %s)\n", img.URI, tag, res.Release.Metadata.Name)
	return img.URI, nil
}
