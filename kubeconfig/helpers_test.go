package kubeconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeiam/kubeiam/kubeconfig/internal/codec/codectest"
)

func writeFile(t *testing.T, path string, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dirNames lists a directory, to prove no temp or lock file is left over.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// The kubeconfigs shared with the codec's tests.
const (
	existingConfig = codectest.Existing
	upstreamConfig = codectest.Upstream
	minikubeStyle  = codectest.MinikubeStyle
	pyYAMLStyle    = codectest.PyYAMLStyle
)

var (
	kubectlLayout = codectest.KubectlLayout
	bigConfig     = codectest.BigConfig
	testCA        = codectest.TestCA
)
