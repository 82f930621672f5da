package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The release platforms; the Makefile's PLATFORMS, .goreleaser.yaml and
// plugins/iam.yaml must all name these six.
var platforms = []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestGoreleaserConfig keeps the release build in step with the binaries:
// both are built, statically, for every platform, with the version and
// commit stamped into variables that exist, and both go into each archive.
func TestGoreleaserConfig(t *testing.T) {
	var cfg struct {
		Version int
		Builds  []struct {
			ID      string
			Main    string
			Binary  string
			Env     []string
			Flags   []string
			Tags    []string
			Ldflags []string
			Goos    []string
			Goarch  []string
		}
		Archives []struct {
			IDs []string `json:"ids"`
		}
		Checksum struct {
			NameTemplate string `json:"name_template"`
		}
	}
	readYAML(t, ".goreleaser.yaml", &cfg)
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	yqTags := regexp.MustCompile(`(?m)^YQ_TAGS := (.*)$`).FindSubmatch(mk)
	if cfg.Version != 2 {
		t.Errorf("version = %d, want 2", cfg.Version)
	}
	built := map[string]bool{}
	for _, b := range cfg.Builds {
		built[b.Binary] = true
		if b.Main != "./cmd/"+b.Binary {
			t.Errorf("build %s: main %s", b.ID, b.Main)
		}
		if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
			t.Errorf("build %s is not static and trimmed: env %v flags %v", b.ID, b.Env, b.Flags)
		}
		if yqTags != nil && strings.Join(b.Tags, ",") != strings.TrimSpace(string(yqTags[1])) {
			t.Errorf("build %s: tags %v, the Makefile builds with %s", b.ID, b.Tags, yqTags[1])
		}
		var got []string
		for _, goos := range b.Goos {
			for _, arch := range b.Goarch {
				got = append(got, goos+"/"+arch)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, platforms) {
			t.Errorf("build %s: platforms %v, want %v", b.ID, got, platforms)
		}
		ld := strings.Join(b.Ldflags, " ")
		for _, v := range []string{"Version", "Commit"} {
			if !strings.Contains(ld, "-X github.com/kubeiam/kubeiam/internal/buildinfo."+v+"=") {
				t.Errorf("build %s does not stamp buildinfo.%s: %s", b.ID, v, ld)
			}
		}
	}
	if !built["kubeiam"] || !built["kubeiam-core"] {
		t.Errorf("builds %v, want kubeiam and kubeiam-core", built)
	}
	if len(cfg.Archives) != 1 || !slices.Contains(cfg.Archives[0].IDs, "kubeiam") || !slices.Contains(cfg.Archives[0].IDs, "kubeiam-core") {
		t.Errorf("archives must hold both binaries: %+v", cfg.Archives)
	}
	if cfg.Checksum.NameTemplate != "checksums.txt" {
		t.Errorf("checksums file %q; scripts/krew-manifest.sh reads checksums.txt", cfg.Checksum.NameTemplate)
	}
}

// TestKrewManifest checks that every platform installs the front as
// kubectl-iam with kubeiam-core beside it (the front finds the core next to
// its own resolved path), and that the release script fills every
// placeholder.
func TestKrewManifest(t *testing.T) {
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string
		Metadata   struct{ Name string }
		Spec       struct {
			Version   string
			Platforms []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				}
				URI    string
				Sha256 string
				Files  []struct{ From, To string }
				Bin    string
			}
		}
	}
	readYAML(t, "plugins/iam.yaml", &m)
	if m.Kind != "Plugin" || m.Metadata.Name != "iam" || m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" {
		t.Fatalf("not the iam krew plugin: %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	var got []string
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		got = append(got, goos+"/"+arch)
		exe := ""
		if goos == "windows" {
			exe = ".exe"
		}
		if p.Bin != "kubectl-iam"+exe {
			t.Errorf("%s/%s: bin %q", goos, arch, p.Bin)
		}
		files := map[string]string{}
		for _, f := range p.Files {
			files[f.From] = f.To
		}
		if files["kubeiam"+exe] != "kubectl-iam"+exe || files["kubeiam-core"+exe] != "." {
			t.Errorf("%s/%s: files %v", goos, arch, files)
		}
		if !strings.HasSuffix(p.URI, "_"+goos+"_"+arch+map[bool]string{true: ".zip", false: ".tar.gz"}[goos == "windows"]) {
			t.Errorf("%s/%s: uri %s", goos, arch, p.URI)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, platforms) {
		t.Errorf("platforms %v, want %v", got, platforms)
	}

	// The fill-in script with a checksums file like goreleaser's.
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	var sums strings.Builder
	for i, p := range platforms {
		ext := ".tar.gz"
		if strings.HasPrefix(p, "windows") {
			ext = ".zip"
		}
		sums.WriteString(strings.Repeat(string(rune('a'+i)), 64) + "  kubeiam_1.2.3_" + strings.ReplaceAll(p, "/", "_") + ext + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "../../scripts/krew-manifest.sh", "1.2.3", filepath.Join(dir, "checksums.txt")).Output()
	if err != nil {
		t.Fatalf("krew-manifest.sh: %v", err)
	}
	if regexp.MustCompile(`VERSION|SHA256_`).Match(out) {
		t.Errorf("placeholders left:\n%s", out)
	}
	for i := range platforms {
		if !strings.Contains(string(out), "sha256: "+strings.Repeat(string(rune('a'+i)), 64)) {
			t.Errorf("checksum %d missing", i)
		}
	}
	if !strings.Contains(string(out), "version: v1.2.3") || !strings.Contains(string(out), "/download/v1.2.3/kubeiam_1.2.3_linux_amd64.tar.gz") {
		t.Errorf("version not filled in:\n%s", out)
	}
	// Named platforms keep only their blocks (a local build of one
	// platform); an unknown one is an error. darwin/arm64 is the second
	// platform, so its checksum is b….
	one, err := exec.Command("bash", "../../scripts/krew-manifest.sh", "1.2.3", filepath.Join(dir, "checksums.txt"), "darwin_arm64").Output()
	if err != nil {
		t.Fatalf("krew-manifest.sh darwin_arm64: %v", err)
	}
	var sub struct {
		Spec struct {
			Platforms []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				}
				Sha256 string
				Bin    string
			}
		}
	}
	if err := yaml.Unmarshal(one, &sub); err != nil {
		t.Fatal(err)
	}
	if ps := sub.Spec.Platforms; len(ps) != 1 || ps[0].Selector.MatchLabels["os"] != "darwin" || ps[0].Selector.MatchLabels["arch"] != "arm64" ||
		ps[0].Sha256 != strings.Repeat("b", 64) || ps[0].Bin != "kubectl-iam" {
		t.Errorf("darwin_arm64 alone:\n%s", one)
	}
	if err := exec.Command("bash", "../../scripts/krew-manifest.sh", "1.2.3", filepath.Join(dir, "checksums.txt"), "plan9_amd64").Run(); err == nil {
		t.Error("krew-manifest.sh accepted an unknown platform")
	}
	// A missing archive is an error, not an empty checksum.
	short := strings.Join(strings.Split(sums.String(), "\n")[1:], "\n")
	if err := os.WriteFile(filepath.Join(dir, "short.txt"), []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("bash", "../../scripts/krew-manifest.sh", "1.2.3", filepath.Join(dir, "short.txt")).Run(); err == nil {
		t.Error("krew-manifest.sh accepted a checksums file without darwin/amd64")
	}
}

// TestMakefilePlatforms keeps `make cross` (what CI runs) on the same six.
func TestMakefilePlatforms(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PLATFORMS \?= (.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no PLATFORMS in the Makefile")
	}
	got := strings.Fields(string(m[1]))
	slices.Sort(got)
	if !slices.Equal(got, platforms) {
		t.Errorf("Makefile PLATFORMS %v, want %v", got, platforms)
	}
}
