package kubeconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// testCA returns a PEM certificate made for the test.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

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

const existingConfig = `apiVersion: v1
kind: Config
clusters:
- name: other
  cluster:
    server: https://other.example:6443
    extensions:
    - name: client.authentication.k8s.io/exec
      extension:
        audience: other
contexts:
- name: other
  context:
    cluster: other
    user: other-user
    namespace: team-a
current-context: other
preferences:
  colors: true
users:
- name: other-user
  user:
    token: abc
extensions:
- name: example.com/top
  extension:
    kept: "yes"
`

// decode is Parse without a file name.
func decode(data []byte) (*clientcmdapi.Config, error) {
	v1, err := decodeV1(data)
	if err != nil {
		return nil, err
	}
	return configOf(v1)
}

// encode writes cfg as Edit's general path does; size is the expected
// length, when known.
func encode(cfg *clientcmdapi.Config, l layout, size int) ([]byte, error) {
	v1, err := toV1(cfg)
	if err != nil {
		return nil, err
	}
	return emitBlobs(v1, nil, l, size)
}
