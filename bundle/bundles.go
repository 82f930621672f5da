package bundle

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Bundles is the part of an EKS Anywhere Bundles object
// (anywhere.eks.amazonaws.com/v1alpha1) that leads to the EKS-D release. It
// has no authenticator field of its own: the clients are found through
// eksD.manifestUrl.
type Bundles struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Number          int              `json:"number"`
		VersionsBundles []VersionsBundle `json:"versionsBundles"`
	} `json:"spec"`
}

// VersionsBundle is one Kubernetes minor version of a Bundles object.
type VersionsBundle struct {
	KubeVersion string `json:"kubeVersion"`
	EksD        EksD   `json:"eksD"`
}

// EksD points at the EKS-D release of a VersionsBundle.
type EksD struct {
	Name        string `json:"name"`
	Channel     string `json:"channel"`
	KubeVersion string `json:"kubeVersion"`
	ManifestURL string `json:"manifestUrl"`
	GitCommit   string `json:"gitCommit,omitempty"`
}

// ParseBundles decodes a Bundles object.
func ParseBundles(data []byte) (*Bundles, error) {
	if err := notHTML(data); err != nil {
		return nil, err
	}
	var b Bundles
	if err := yaml.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("could not parse Bundles: %w", err)
	}
	if b.Kind != "Bundles" || !strings.HasPrefix(b.APIVersion, "anywhere.eks.amazonaws.com/") {
		return nil, fmt.Errorf("not an EKS Anywhere Bundles object: kind %q, apiVersion %q (want Bundles, anywhere.eks.amazonaws.com/v1alpha1)", b.Kind, b.APIVersion)
	}
	return &b, nil
}

// NormalizeKubeVersion turns "v1.31", "1.31.4" or "1-31" into the "1.31" that
// Bundles use as kubeVersion.
func NormalizeKubeVersion(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	v = strings.ReplaceAll(v, "-", ".")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}

// VersionsBundle returns the entry for kubeVersion.
func (b *Bundles) VersionsBundle(kubeVersion string) (*VersionsBundle, error) {
	want := NormalizeKubeVersion(kubeVersion)
	var have []string
	for i := range b.Spec.VersionsBundles {
		vb := &b.Spec.VersionsBundles[i]
		if vb.KubeVersion == want {
			if vb.EksD.ManifestURL == "" {
				return nil, fmt.Errorf("versionsBundle %s of Bundles %s has no eksD.manifestUrl", want, b.Metadata.Name)
			}
			return vb, nil
		}
		have = append(have, vb.KubeVersion)
	}
	sort.Strings(have)
	return nil, &VersionError{Want: want, Bundles: b.Metadata.Name, Have: have}
}

// VersionError says that a Bundles object has no entry for a Kubernetes version.
type VersionError struct {
	Want    string
	Bundles string
	Have    []string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("no versionsBundle for Kubernetes %s in Bundles %s", e.Want, e.Bundles)
}

// Hint lists the versions the Bundles object does carry.
func (e *VersionError) Hint() string {
	if len(e.Have) == 0 {
		return "the Bundles object lists no versionsBundles"
	}
	return "Kubernetes versions in these Bundles: " + strings.Join(e.Have, ", ") + " (pass one with --kube-version)"
}
