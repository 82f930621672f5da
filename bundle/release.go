// Package bundle finds the client binaries that match an EKS Anywhere or EKS
// Distro release (through an EKS-A Bundles object and the EKS-D release
// manifest it names) and installs them with their published checksums
// verified. It is a plain library: the cobra layer lives in
// internal/cmd/bundle.
//
// An asset is installed only after the sha256 and sha512 the release
// publishes both match the bytes downloaded, and by rename, so a failed or
// interrupted download leaves the installed binary as it was. Every network
// call ends with the caller's context. Nothing here prints: downloads are
// reported through the caller's Progress, and errors that know their fix
// carry it in a Hint method.
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package bundle

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Component names a client the package knows how to find in an EKS-D release.
const (
	ComponentAuthenticator = "aws-iam-authenticator"
	ComponentKubectl       = "kubectl"
)

// Release is an EKS Distro release manifest
// (distro.eks.amazonaws.com/v1alpha1, kind Release).
type Release struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Channel string `json:"channel"`
		Number  int    `json:"number"`
	} `json:"spec"`
	Status struct {
		Date       string      `json:"date"`
		Components []Component `json:"components"`
	} `json:"status"`
}

// Component is one entry of status.components; the order of components and
// of their assets is not stable between releases.
type Component struct {
	Name      string  `json:"name"`
	GitTag    string  `json:"gitTag"`
	GitCommit string  `json:"gitCommit,omitempty"`
	Assets    []Asset `json:"assets"`
}

// Asset is an archive (a tarball or, for the kubernetes binaries, the bare
// file) or a container image.
type Asset struct {
	Name        string      `json:"name"`
	Type        string      `json:"type"`
	Description string      `json:"description,omitempty"`
	OS          string      `json:"os"`
	Arch        []string    `json:"arch"`
	Archive     *ArchiveRef `json:"archive,omitempty"`
	Image       *ImageRef   `json:"image,omitempty"`
}

// ArchiveRef is where an archive asset is published and its checksums.
type ArchiveRef struct {
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
}

// ImageRef is a container image asset.
type ImageRef struct {
	URI         string `json:"uri"`
	ImageDigest string `json:"imageDigest,omitempty"`
}

// ParseRelease decodes an EKS-D release manifest and checks that it is one:
// a proxy's login page or an S3 error document must not be mistaken for a
// release with no components.
func ParseRelease(data []byte) (*Release, error) {
	if err := notHTML(data); err != nil {
		return nil, err
	}
	var r Release
	if err := yaml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("could not parse EKS-D release manifest: %w", err)
	}
	if r.Kind != "Release" || !strings.HasPrefix(r.APIVersion, "distro.eks.amazonaws.com/") {
		return nil, fmt.Errorf("not an EKS-D release manifest: kind %q, apiVersion %q (want Release, distro.eks.amazonaws.com/v1alpha1)", r.Kind, r.APIVersion)
	}
	return &r, nil
}

func notHTML(data []byte) error {
	head := bytes.TrimSpace(data)
	if len(head) > 512 {
		head = head[:512]
	}
	lower := bytes.ToLower(head)
	if bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html")) || bytes.HasPrefix(lower, []byte("<?xml")) {
		return fmt.Errorf("got an HTML or XML page where a YAML manifest was expected (an error page or a proxy login?)")
	}
	return nil
}

// Component returns the named component.
func (r *Release) Component(name string) (*Component, error) {
	for i := range r.Status.Components {
		if r.Status.Components[i].Name == name {
			return &r.Status.Components[i], nil
		}
	}
	names := make([]string, 0, len(r.Status.Components))
	for _, c := range r.Status.Components {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return nil, &ComponentError{Name: name, Release: r.Metadata.Name, Have: names}
}

// ComponentError says that a release lacks a component.
type ComponentError struct {
	Name    string
	Release string
	Have    []string
}

func (e *ComponentError) Error() string {
	return fmt.Sprintf("release %s has no component %q", e.Release, e.Name)
}

// Hint lists the components the release does have.
func (e *ComponentError) Hint() string {
	if len(e.Have) == 0 {
		return "the manifest lists no components at all; check that it is a complete EKS-D release"
	}
	return "components in this release: " + strings.Join(e.Have, ", ")
}

// Selection is the asset chosen for a component and platform.
type Selection struct {
	Component string // what the user asked for: aws-iam-authenticator or kubectl
	Tag       string // gitTag of the EKS-D component
	OS, Arch  string
	Asset     Asset
	Release   *Release
}

// Binary is the file name the asset installs as.
func (s *Selection) Binary() string {
	if s.OS == "windows" {
		return s.Component + ".exe"
	}
	return s.Component
}

// Tarball reports whether the asset is a gzipped tarball; kubectl is
// published as the bare binary although its type is Archive too.
func (s *Selection) Tarball() bool {
	u := s.Asset.Archive.URI
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return strings.HasSuffix(u, ".tar.gz") || strings.HasSuffix(u, ".tgz")
}

// Select picks the archive asset of component ("aws-iam-authenticator" or
// "kubectl") for goos/goarch.
func (r *Release) Select(component, goos, goarch string) (*Selection, error) {
	var (
		compName string
		match    func(a *Asset) bool
	)
	switch component {
	case ComponentAuthenticator:
		compName = ComponentAuthenticator
		match = func(a *Asset) bool { return a.Type == "Archive" && a.Archive != nil }
	case ComponentKubectl:
		// kubectl sits in the kubernetes component among kube-apiserver,
		// kubelet and friends, as bin/<os>/<arch>/kubectl[.exe].
		compName = "kubernetes"
		match = func(a *Asset) bool {
			if a.Type != "Archive" || a.Archive == nil {
				return false
			}
			parts := strings.Split(a.Name, "/")
			return len(parts) == 4 && parts[0] == "bin" && strings.TrimSuffix(parts[3], ".exe") == "kubectl"
		}
	default:
		return nil, fmt.Errorf("unknown component %q: use %s or %s", component, ComponentAuthenticator, ComponentKubectl)
	}
	c, err := r.Component(compName)
	if err != nil {
		return nil, err
	}
	var platforms []string
	for i := range c.Assets {
		a := &c.Assets[i]
		if !match(a) {
			continue
		}
		for _, arch := range a.Arch {
			platforms = append(platforms, a.OS+"/"+arch)
		}
		if a.OS == goos && slices.Contains(a.Arch, goarch) {
			return &Selection{Component: component, Tag: c.GitTag, OS: goos, Arch: goarch, Asset: *a, Release: r}, nil
		}
	}
	sort.Strings(platforms)
	platforms = slices.Compact(platforms)
	return nil, &PlatformError{Component: component, Release: r.Metadata.Name, OS: goos, Arch: goarch, Have: platforms}
}

// PlatformError says that no asset exists for the platform.
type PlatformError struct {
	Component, Release string
	OS, Arch           string
	Have               []string
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("release %s publishes no %s for %s/%s", e.Release, e.Component, e.OS, e.Arch)
}

// Hint names the platforms that exist, and the Rosetta 2 way out on Apple
// silicon, for which EKS-D publishes no aws-iam-authenticator.
func (e *PlatformError) Hint() string {
	if len(e.Have) == 0 {
		return "the component lists no archives at all"
	}
	h := "published for: " + strings.Join(e.Have, ", ")
	if e.OS == "darwin" && e.Arch == "arm64" && slices.Contains(e.Have, "darwin/amd64") {
		h += "; darwin/amd64 exists and runs on Apple silicon under Rosetta 2: add --arch amd64"
	}
	return h
}

// Image returns the aws-iam-authenticator server image of the release (the
// asset named aws-iam-authenticator-image).
func (r *Release) Image() (*ImageRef, string, error) {
	c, err := r.Component(ComponentAuthenticator)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, a := range c.Assets {
		if a.Type != "Image" || a.Image == nil {
			continue
		}
		if a.Name == ComponentAuthenticator+"-image" {
			return a.Image, c.GitTag, nil
		}
		names = append(names, a.Name)
	}
	return nil, "", fmt.Errorf("release %s has no aws-iam-authenticator-image asset (images: %s)", r.Metadata.Name, strings.Join(names, ", "))
}
