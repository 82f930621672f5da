package bundle

import (
	"context"
	"fmt"
)

// maxManifest caps what a manifest or Bundles download may be: a real EKS-D
// release is ~100 KB, a Bundles object ~200 KB.
const maxManifest = 32 << 20

// Source says where the EKS-D release comes from; exactly one of Manifest,
// Bundles (with KubeVersion) or Cluster (a live cluster) is used.
type Source struct {
	Manifest    string // FILE|URL of an EKS-D Release
	Bundles     string // FILE|URL of an EKS-A Bundles object
	KubeVersion string // with Bundles (required) or Cluster (overrides the cluster's own version)
	Cluster     *ClusterSource
}

// Resolved is an EKS-D release and how it was found.
type Resolved struct {
	ManifestURL string   // where the release manifest was read from (before mirror rewriting)
	Trail       []string // how the manifest URL was found, one step a line, for stderr
	Manifest    []byte   // the manifest as read, for --query
	Release     *Release
}

// Resolve finds and reads the EKS-D release manifest.
func Resolve(ctx context.Context, f *Fetcher, src Source) (*Resolved, error) {
	res := &Resolved{}
	switch {
	case src.Manifest != "":
		res.ManifestURL = src.Manifest
	case src.Bundles != "":
		if src.KubeVersion == "" {
			return nil, fmt.Errorf("--bundles needs --kube-version")
		}
		data, err := f.ReadAll(ctx, src.Bundles, maxManifest)
		if err != nil {
			return nil, fmt.Errorf("could not read Bundles: %w", err)
		}
		b, err := ParseBundles(data)
		if err != nil {
			return nil, fmt.Errorf("could not read Bundles from %s: %w", src.Bundles, err)
		}
		vb, err := b.VersionsBundle(src.KubeVersion)
		if err != nil {
			return nil, err
		}
		res.ManifestURL = vb.EksD.ManifestURL
		res.Trail = append(res.Trail, fmt.Sprintf("Bundles %s (number %d) from %s", b.Metadata.Name, b.Spec.Number, src.Bundles),
			fmt.Sprintf("versionsBundle %s: EKS-D %s", vb.KubeVersion, vb.EksD.Name))
	case src.Cluster != nil:
		found, err := FindBundles(ctx, src.Cluster)
		if err != nil {
			return nil, err
		}
		kv := src.KubeVersion
		if kv == "" {
			kv = found.KubeVersion
		}
		if kv == "" {
			return nil, fmt.Errorf("cluster %s names no Kubernetes version: pass --kube-version", found.ClusterName)
		}
		vb, err := found.Bundles.VersionsBundle(kv)
		if err != nil {
			return nil, err
		}
		res.ManifestURL = vb.EksD.ManifestURL
		res.Trail = append(res.Trail, found.Trail...)
		res.Trail = append(res.Trail, fmt.Sprintf("versionsBundle %s: EKS-D %s", vb.KubeVersion, vb.EksD.Name))
	default:
		return nil, fmt.Errorf("no source: pass --manifest, --bundles with --kube-version, or --kubeconfig")
	}
	data, err := f.ReadAll(ctx, res.ManifestURL, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("could not read EKS-D release manifest: %w", err)
	}
	rel, err := ParseRelease(data)
	if err != nil {
		return nil, fmt.Errorf("could not read EKS-D release manifest from %s: %w", f.Rewrite(res.ManifestURL), err)
	}
	res.Manifest, res.Release = data, rel
	res.Trail = append(res.Trail, fmt.Sprintf("EKS-D release %s (channel %s, number %d) from %s", rel.Metadata.Name, rel.Spec.Channel, rel.Spec.Number, f.Rewrite(res.ManifestURL)))
	return res, nil
}
