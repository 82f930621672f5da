package bundle

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeiam/kubeiam/bundle"
	"github.com/kubeiam/kubeiam/internal/clierr"
	"github.com/kubeiam/kubeiam/internal/input"
	"github.com/kubeiam/kubeiam/internal/iostreams"
)

// ResolveOptions are the flags of `kubeiam bundle resolve`.
type ResolveOptions struct {
	IO *iostreams.IOStreams
	SourceFlags
	Output string
	Query  string
	Image  bool
}

// NewResolveCmd builds `kubeiam bundle resolve`; runF replaces RunResolve in tests.
func NewResolveCmd(io *iostreams.IOStreams, runF func(*ResolveOptions) error) *cobra.Command {
	opts := &ResolveOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "resolve",
		Short: "Print the client asset (uri, sha256, sha512) of a release",
		Long: `Print the archive of aws-iam-authenticator (or kubectl) that a release publishes
for a platform: name, tag, uri and checksums. How the manifest was found is
printed on stderr, one "using" line per object read.

--query evaluates a yq expression over the EKS-D manifest instead, so the
command from the EKS Anywhere documentation works as written. --image prints
the aws-iam-authenticator server image instead.`,
		Example: `  kubeiam bundle resolve --kubeconfig my-cluster/my-cluster-eks-a-cluster.kubeconfig
  kubeiam bundle resolve --bundles bundles.yaml --kube-version 1.31 -o json
  kubeiam bundle resolve --manifest https://distro.eks.amazonaws.com/kubernetes-1-31/kubernetes-1-31-eks-12.yaml --component kubectl --os darwin --arch arm64
  kubeiam bundle resolve --manifest kubernetes-1-31-eks-12.yaml --image
  kubeiam bundle resolve --manifest kubernetes-1-31-eks-12.yaml \
    --query '.status.components[] | select(.name=="aws-iam-authenticator") | .assets[] | select(.os == "linux" and .type == "Archive") | .archive.uri'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.SourceFlags.validate(cmd); err != nil {
				return err
			}
			switch opts.Output {
			case "", "table", "json", "yaml":
			default:
				return clierr.Usagef("unknown output format %q: use table, json or yaml", opts.Output)
			}
			if opts.Query != "" && (opts.Image || opts.Output != "") {
				return clierr.Usagef("--query prints the query's result: leave out --image and -o")
			}
			if runF != nil {
				return runF(opts)
			}
			return RunResolve(cmd, opts)
		},
	}
	opts.SourceFlags.add(cmd)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: table (default), json or yaml")
	cmd.Flags().StringVar(&opts.Query, "query", "", "yq expression to evaluate over the EKS-D release manifest")
	// An expression may span lines; it is evaluated, never written.
	_ = cmd.Flags().SetAnnotation("query", input.FreeText, []string{"true"})
	cmd.Flags().BoolVar(&opts.Image, "image", false, "print the aws-iam-authenticator server image instead of a client archive")
	return cmd
}

// ResolveResult is what resolve prints with -o json|yaml.
type ResolveResult struct {
	Component   string      `json:"component"`
	Tag         string      `json:"tag"`
	OS          string      `json:"os"`
	Arch        string      `json:"arch"`
	Name        string      `json:"name"`
	URI         string      `json:"uri"`
	SHA256      string      `json:"sha256"`
	SHA512      string      `json:"sha512"`
	Release     ReleaseInfo `json:"release"`
	ManifestURL string      `json:"manifestUrl"`
	Trail       []string    `json:"trail,omitempty"`
}

// ImageResult is what resolve --image prints with -o json|yaml.
type ImageResult struct {
	Image       string      `json:"image"`
	ImageDigest string      `json:"imageDigest,omitempty"`
	Tag         string      `json:"tag"`
	Release     ReleaseInfo `json:"release"`
	ManifestURL string      `json:"manifestUrl"`
	Trail       []string    `json:"trail,omitempty"`
}

// ReleaseInfo names an EKS-D release.
type ReleaseInfo struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
	Number  int    `json:"number"`
}

// RunResolve resolves and prints.
func RunResolve(cmd *cobra.Command, opts *ResolveOptions) error {
	f, err := opts.fetcher(opts.IO)
	if err != nil {
		return err
	}
	res, err := bundle.Resolve(cmd.Context(), f, opts.source())
	if err != nil {
		return withHint(err)
	}
	trail(opts.IO, res.Trail)
	rel := res.Release
	info := ReleaseInfo{Name: rel.Metadata.Name, Channel: rel.Spec.Channel, Number: rel.Spec.Number}

	if opts.Query != "" {
		out, err := bundle.Query(opts.Query, res.Manifest)
		if err != nil {
			return clierr.WithHint(err, "the expression is yq syntax, e.g. '.status.components[].name'")
		}
		_, err = fmt.Fprint(opts.IO.Out, out)
		return err
	}

	if opts.Image {
		img, tag, err := rel.Image()
		if err != nil {
			return withHint(err)
		}
		switch opts.Output {
		case "", "table":
			_, err = fmt.Fprintln(opts.IO.Out, img.URI)
			return err
		default:
			return printStructured(opts.IO, opts.Output, ImageResult{Image: img.URI, ImageDigest: img.ImageDigest, Tag: tag, Release: info, ManifestURL: res.ManifestURL, Trail: res.Trail})
		}
	}

	sel, err := rel.Select(opts.Component, opts.OS, opts.Arch)
	if err != nil {
		return withHint(err)
	}
	a := sel.Asset.Archive
	out := ResolveResult{
		Component: sel.Component, Tag: sel.Tag, OS: sel.OS, Arch: sel.Arch, Name: sel.Asset.Name,
		URI: a.URI, SHA256: a.SHA256, SHA512: a.SHA512, Release: info, ManifestURL: res.ManifestURL, Trail: res.Trail,
	}
	if opts.Output == "json" || opts.Output == "yaml" {
		return printStructured(opts.IO, opts.Output, out)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "COMPONENT\t%s\n", out.Component)
	fmt.Fprintf(tw, "TAG\t%s\n", out.Tag)
	fmt.Fprintf(tw, "PLATFORM\t%s/%s\n", out.OS, out.Arch)
	fmt.Fprintf(tw, "NAME\t%s\n", out.Name)
	fmt.Fprintf(tw, "URI\t%s\n", out.URI)
	fmt.Fprintf(tw, "SHA256\t%s\n", out.SHA256)
	fmt.Fprintf(tw, "SHA512\t%s\n", out.SHA512)
	fmt.Fprintf(tw, "RELEASE\t%s (channel %s, number %d)\n", info.Name, info.Channel, info.Number)
	return tw.Flush()
}

func printStructured(io *iostreams.IOStreams, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = io.Out.Write(b)
		return err
	}
	_, err = fmt.Fprintf(io.Out, "%s\n", b)
	return err
}
