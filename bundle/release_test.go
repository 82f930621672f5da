package bundle

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func loadFixture(t *testing.T) *Release {
	t.Helper()
	data, err := os.ReadFile("testdata/kubernetes-1-31-eks-12.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRelease(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSelectAuthenticatorEachPlatform(t *testing.T) {
	r := loadFixture(t)
	for _, p := range []struct{ os, arch string }{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"windows", "amd64"}} {
		sel, err := r.Select(ComponentAuthenticator, p.os, p.arch)
		if err != nil {
			t.Fatalf("%s/%s: %v", p.os, p.arch, err)
		}
		want := "aws-iam-authenticator-" + p.os + "-" + p.arch + "-v0.6.28.tar.gz"
		if sel.Asset.Name != want || !strings.HasSuffix(sel.Asset.Archive.URI, "/"+want) {
			t.Errorf("%s/%s: got %s (%s), want %s", p.os, p.arch, sel.Asset.Name, sel.Asset.Archive.URI, want)
		}
		if sel.Tag != "v0.6.28" || !sel.Tarball() {
			t.Errorf("%s/%s: tag %q tarball %v", p.os, p.arch, sel.Tag, sel.Tarball())
		}
	}
	sel, _ := r.Select(ComponentAuthenticator, "windows", "amd64")
	if sel.Binary() != "aws-iam-authenticator.exe" {
		t.Errorf("windows binary name %q", sel.Binary())
	}
}

func TestSelectDarwinArm64NamesRosetta(t *testing.T) {
	r := loadFixture(t)
	_, err := r.Select(ComponentAuthenticator, "darwin", "arm64")
	var pe *PlatformError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a PlatformError", err)
	}
	h := pe.Hint()
	for _, want := range []string{"darwin/amd64, linux/amd64, linux/arm64, windows/amd64", "Rosetta 2", "--arch amd64"} {
		if !strings.Contains(h, want) {
			t.Errorf("hint %q lacks %q", h, want)
		}
	}
	// Another missing platform lists what exists, without Rosetta.
	_, err = r.Select(ComponentAuthenticator, "linux", "ppc64le")
	if !errors.As(err, &pe) || strings.Contains(pe.Hint(), "Rosetta") {
		t.Errorf("linux/ppc64le: %v / %q", err, pe.Hint())
	}
}

func TestSelectKubectlIsBareBinary(t *testing.T) {
	r := loadFixture(t)
	sel, err := r.Select(ComponentKubectl, "linux", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if sel.Asset.Name != "bin/linux/arm64/kubectl" || sel.Tarball() || sel.Tag != "v1.31.4" {
		t.Errorf("got %+v tarball=%v", sel.Asset, sel.Tarball())
	}
	sel, err = r.Select(ComponentKubectl, "windows", "amd64")
	if err != nil || sel.Asset.Name != "bin/windows/amd64/kubectl.exe" || sel.Binary() != "kubectl.exe" {
		t.Errorf("windows: %v %+v", err, sel)
	}
	// kube-apiserver and kubelet sit beside kubectl and must not be picked.
	_, err = r.Select(ComponentKubectl, "darwin", "arm64")
	var pe *PlatformError
	if !errors.As(err, &pe) || strings.Join(pe.Have, ",") != "darwin/amd64,linux/amd64,linux/arm64,windows/amd64" {
		t.Errorf("darwin/arm64 kubectl: %v %v", err, pe)
	}
}

func TestMissingComponent(t *testing.T) {
	r := loadFixture(t)
	var kept []Component
	for _, c := range r.Status.Components {
		if c.Name != ComponentAuthenticator {
			kept = append(kept, c)
		}
	}
	r.Status.Components = kept
	_, err := r.Select(ComponentAuthenticator, "linux", "amd64")
	var ce *ComponentError
	if !errors.As(err, &ce) || !strings.Contains(ce.Hint(), "etcd, kubernetes, metrics-server") {
		t.Fatalf("got %v", err)
	}
	if _, _, err := r.Image(); !errors.As(err, &ce) {
		t.Errorf("Image: %v", err)
	}
}

func TestImage(t *testing.T) {
	img, tag, err := loadFixture(t).Image()
	if err != nil {
		t.Fatal(err)
	}
	if img.URI != "public.ecr.aws/eks-distro/kubernetes-sigs/aws-iam-authenticator:v0.6.28-eks-1-31-12" || tag != "v0.6.28" {
		t.Errorf("got %s %s", img.URI, tag)
	}
}

func TestParseReleaseRejectsOtherDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"html":    "<!DOCTYPE html>\n<html><body>Sign in to the proxy</body></html>",
		"s3 xml":  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code></Error>`,
		"bundles": "apiVersion: anywhere.eks.amazonaws.com/v1alpha1\nkind: Bundles\n",
		"garbage": "{{{ not yaml",
	} {
		if _, err := ParseRelease([]byte(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestBundlesVersions(t *testing.T) {
	data, err := os.ReadFile("testdata/bundles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundles(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.31", "v1.31", "1.31.4", "1-31"} {
		vb, err := b.VersionsBundle(v)
		if err != nil || vb.EksD.ManifestURL != "https://distro.eks.amazonaws.com/kubernetes-1-31/kubernetes-1-31-eks-12.yaml" {
			t.Errorf("%s: %v %+v", v, err, vb)
		}
	}
	_, err = b.VersionsBundle("1.33")
	var ve *VersionError
	if !errors.As(err, &ve) || !strings.Contains(ve.Hint(), "1.28, 1.29, 1.30, 1.31") {
		t.Errorf("1.33: %v", err)
	}
	if _, err := ParseBundles([]byte("apiVersion: distro.eks.amazonaws.com/v1alpha1\nkind: Release\n")); err == nil {
		t.Error("a Release parsed as Bundles")
	}
}

func TestQuerySeedExpressionVerbatim(t *testing.T) {
	data, err := os.ReadFile("testdata/kubernetes-1-31-eks-12.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The expression exactly as the EKS Anywhere page builds it for OS=linux.
	OS := "linux"
	expr := `.status.components[] | select(.name=="aws-iam-authenticator") | .assets[] | select(.os == ` + `"` + OS + `"` + ` and .type == "Archive") | .archive.uri`
	out, err := Query(expr, data)
	if err != nil {
		t.Fatal(err)
	}
	want := "https://distro.eks.amazonaws.com/kubernetes-1-31/releases/12/artifacts/aws-iam-authenticator/v0.6.28/aws-iam-authenticator-linux-arm64-v0.6.28.tar.gz\n" +
		"https://distro.eks.amazonaws.com/kubernetes-1-31/releases/12/artifacts/aws-iam-authenticator/v0.6.28/aws-iam-authenticator-linux-amd64-v0.6.28.tar.gz\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := Query(".status.components[] | select(", data); err == nil {
		t.Error("a broken expression evaluated")
	}
}
