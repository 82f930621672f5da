package installer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kubeiam/kubeiam/internal/fsafe"
	"github.com/kubeiam/kubeiam/internal/input"
)

// Where the server listens; the webhook kubeconfig points there.
const (
	ServerPort = 21362
	ServerURL  = "https://localhost:21362/authenticate"
	// certLifetime is the server's own (aws-iam-authenticator init): the
	// certificate is pinned in the webhook kubeconfig, so it never rotates.
	certLifetime = 100 * 365 * 24 * time.Hour
)

// NewServerCertificate makes the self-signed certificate and key
// `aws-iam-authenticator init` makes: RSA-2048, CN aws-iam-authenticator,
// localhost and 127.0.0.1, a CA flag (the webhook kubeconfig trusts it as
// its own CA), PKCS#1 key. The server loads them from its state directory.
func NewServerCertificate(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("could not generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("could not generate serial number: %w", err)
	}
	tmpl := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: Name},
		NotBefore:             now,
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("could not create certificate: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}

// CheckKeyPair tells whether cert and key belong together and the
// certificate would serve localhost.
func CheckKeyPair(certPEM, keyPEM []byte) error {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("could not load certificate and key: %w", err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("could not parse certificate: %w", err)
	}
	if err := c.VerifyHostname("localhost"); err != nil {
		return fmt.Errorf("certificate does not serve localhost: %w", err)
	}
	return nil
}

// WebhookKubeconfig is the kubeconfig kube-apiserver reads through
// --authentication-token-webhook-config-file: the server's URL, trusting the
// server's own certificate. The layout is the server's own.
func WebhookKubeconfig(certPEM []byte, serverURL string) []byte {
	if serverURL == "" {
		serverURL = ServerURL
	}
	return []byte(`apiVersion: v1
kind: Config
clusters:
- name: aws-iam-authenticator
  cluster:
    certificate-authority-data: ` + base64.StdEncoding.EncodeToString(certPEM) + `
    server: ` + serverURL + `
# the user is the API server itself; the server authenticates nobody
users:
- name: apiserver
current-context: webhook
contexts:
- name: webhook
  context:
    cluster: aws-iam-authenticator
    user: apiserver
`)
}

// KubeadmPatch is the kubeadm ClusterConfiguration fragment that wires the
// apiserver to the webhook, with EKS Anywhere's host paths.
func KubeadmPatch() []byte {
	return []byte(`apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
  extraArgs:
    authentication-token-webhook-config-file: ` + WebhookConfigPath + `
  extraVolumes:
  - name: authconfig
    hostPath: ` + HostDir + `/
    mountPath: ` + APIServerHostDir + `/
    readOnly: false
  - name: awsiamcert
    hostPath: ` + HostDir + `/pki/
    mountPath: /var/aws-iam-authenticator/
    readOnly: false
`)
}

// NewClusterID makes a random UUID (version 4), the form EKS Anywhere uses.
func NewClusterID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("could not generate cluster ID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// ConfigYAML is the server's config.yaml for a cluster ID. The ID is checked
// as kubeiam token checks it and quoted as YAML needs: spliced in as text, a
// newline would add keys, and an ID like "on" or "0123" would read back as
// a bool or a number.
func ConfigYAML(clusterID string) (string, error) {
	if err := input.ClusterID("cluster ID", clusterID); err != nil {
		return "", err
	}
	b, err := yaml.Marshal(map[string]string{"clusterID": clusterID})
	return string(b), err
}

// InitOptions configure Init.
type InitOptions struct {
	ClusterID string
	Dir       string
	// Force overwrites an existing cert.pem/key.pem; without it they are
	// kept, because the apiserver pins the certificate.
	Force bool
	Now   time.Time
}

// InitResult lists what Init wrote or kept.
type InitResult struct {
	Written, Kept []string
}

// Init writes what a control-plane host needs before the server runs:
// pki/cert.pem, pki/key.pem (0600), the webhook kubeconfig, config.yaml with
// the cluster ID and the kubeadm patch, laid out as under
// /var/lib/kubeadm/aws-iam-authenticator/ so the directory can be copied
// there as it is.
func Init(opts InitOptions) (*InitResult, error) {
	config, err := ConfigYAML(opts.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("could not initialise: %w", err)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	pki := filepath.Join(opts.Dir, "pki")
	if err := os.MkdirAll(pki, 0o755); err != nil {
		return nil, fmt.Errorf("could not create %s: %w", pki, err)
	}
	res := &InitResult{}
	certPath, keyPath := filepath.Join(pki, "cert.pem"), filepath.Join(pki, "key.pem")
	certPEM, errC := os.ReadFile(certPath)
	keyPEM, errK := os.ReadFile(keyPath)
	if errC == nil && errK == nil && !opts.Force {
		if err := CheckKeyPair(certPEM, keyPEM); err != nil {
			return nil, fmt.Errorf("could not reuse %s: %w", pki, err)
		}
		res.Kept = append(res.Kept, certPath, keyPath)
	} else {
		var err error
		if certPEM, keyPEM, err = NewServerCertificate(opts.Now); err != nil {
			return nil, err
		}
		if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := writeFile(certPath, certPEM, 0o644); err != nil {
			return nil, err
		}
		res.Written = append(res.Written, certPath, keyPath)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"kubeconfig.yaml", WebhookKubeconfig(certPEM, ""), 0o644},
		{"config.yaml", []byte(config), 0o644},
		{"kubeadm-patch.yaml", KubeadmPatch(), 0o644},
	}
	for _, f := range files {
		p := filepath.Join(opts.Dir, f.name)
		if err := writeFile(p, f.data, f.mode); err != nil {
			return nil, err
		}
		res.Written = append(res.Written, p)
	}
	return res, nil
}

// writeFile replaces path atomically and durably with the given mode, so a
// reader never sees half a key, the key is never briefly world-readable,
// and a crash after init does not leave an empty key.pem.
func writeFile(path string, data []byte, mode os.FileMode) error {
	return fsafe.WriteFile(path, data, mode)
}
