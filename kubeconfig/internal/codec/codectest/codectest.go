// Package codectest holds the kubeconfigs the codec's and kubeconfig's
// tests share: kubectl's layout with every kind of value, large files,
// other writers' layouts.
package codectest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubectlLayout builds a kubeconfig with every kind of value kubeconfig
// holds (blobs, booleans, lists, maps, a multi-line string, odd strings that
// need quotes) and has it written by clientcmd.Write, which is kubectl's
// writer.
func KubectlLayout(t testing.TB) []byte {
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	cfg := clientcmdapi.NewConfig()
	cfg.CurrentContext = "a"
	cfg.Clusters["a"] = &clientcmdapi.Cluster{Server: "https://a:6443", CertificateAuthorityData: ca, TLSServerName: "a.local", ProxyURL: "socks5://p:1080"}
	cfg.Clusters["b"] = &clientcmdapi.Cluster{Server: "https://10.0.0.1", InsecureSkipTLSVerify: true, DisableCompression: true, CertificateAuthority: "/etc/ca.pem"}
	cfg.AuthInfos["exec"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1beta1", Command: "kubeiam", Args: []string{"token", "-i", "6d9b1f5e-1c2a-4c36-9e0f-2a7d4e1c0b11", "--profile", "yes", "1e3", "", "a: b"},
		Env:         []clientcmdapi.ExecEnvVar{{Name: "AWS_PROFILE", Value: "dev"}, {Name: "EMPTY", Value: ""}, {Name: "N", Value: "42"}},
		InstallHint: "Install kubeiam:\n  brew install kubeiam\n", InteractiveMode: "IfAvailable", ProvideClusterInfo: true,
	}}
	cfg.AuthInfos["certs"] = &clientcmdapi.AuthInfo{ClientCertificateData: ca, ClientKeyData: []byte("key"), Impersonate: "bob",
		ImpersonateGroups: []string{"g1", "g2"}, ImpersonateUserExtra: map[string][]string{"a10": {"x"}, "a9": {"y"}, "a-b": {"z"}, "aB": nil}}
	cfg.AuthInfos["oidc"] = &clientcmdapi.AuthInfo{AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "oidc", Config: map[string]string{"client-id": "x", "idp-issuer-url": "https://i", "k2": "v", "k10": "v"}}}
	cfg.AuthInfos["token"] = &clientcmdapi.AuthInfo{Token: "abc.def", Username: "u", Password: "p w"}
	cfg.Contexts["a"] = &clientcmdapi.Context{Cluster: "a", AuthInfo: "exec", Namespace: "kube-system"}
	cfg.Contexts["b"] = &clientcmdapi.Context{Cluster: "b", AuthInfo: "certs"}
	cfg.Contexts["null"] = &clientcmdapi.Context{Cluster: "true", AuthInfo: "007"}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// MinikubeStyle: minikube keeps extensions on its clusters and contexts; the
// file is as kubectl writes it (the test checks clientcmd writes it back
// byte for byte).
const MinikubeStyle = `apiVersion: v1
clusters:
- cluster:
    certificate-authority: /home/u/.minikube/ca.crt
    extensions:
    - extension:
        last-update: Thu, 26 Nov 2026 10:00:00 UTC
        nested:
          big: 12345678901234567890
          list:
          - 1
          - true
          - null
          - text
        provider: minikube.sigs.k8s.io
        version: v1.34.0
      name: cluster_info
    server: https://192.168.49.2:8443
  name: minikube
contexts:
- context:
    cluster: minikube
    extensions:
    - extension:
        empty: {}
        none: []
        provider: minikube.sigs.k8s.io
      name: context_info
    namespace: default
    user: minikube
  name: minikube
current-context: minikube
kind: Config
users:
- name: minikube
  user:
    client-certificate: /home/u/.minikube/profiles/minikube/client.crt
    client-key: /home/u/.minikube/profiles/minikube/client.key
`

// PyYAMLStyle is how `aws eks update-kubeconfig` writes: insertion order,
// and no quotes where YAML allows none.
const PyYAMLStyle = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://ABC.gr7.us-west-2.eks.amazonaws.com
  name: arn:aws:eks:us-west-2:111122223333:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:us-west-2:111122223333:cluster/prod
    user: arn:aws:eks:us-west-2:111122223333:cluster/prod
  name: arn:aws:eks:us-west-2:111122223333:cluster/prod
current-context: arn:aws:eks:us-west-2:111122223333:cluster/prod
kind: Config
preferences: {}
users:
- name: arn:aws:eks:us-west-2:111122223333:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - us-west-2
      - eks
      - get-token
      - --cluster-name
      - prod
      - --output
      - json
      command: aws
`

// Existing is a hand-written kubeconfig with extensions at every level.
const Existing = `apiVersion: v1
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

// Upstream is a kubeconfig with the users aws-iam-authenticator and the AWS CLI write.
const Upstream = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a:6443"}
- name: b
  cluster: {server: "https://b:6443"}
users:
- name: a-aws
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1alpha1
      command: /usr/local/bin/aws-iam-authenticator
      args: [token, -i, ` + UUID + `, -r, "arn:aws:iam::111122223333:role/ops", --cache]
      env:
      - {name: AWS_PROFILE, value: ops}
      - {name: AWS_STS_REGIONAL_ENDPOINTS, value: regional}
- name: b-eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, b, --role-arn=arn:aws:iam::111122223333:role/dev, --output, json]
      env: [{name: AWS_PROFILE, value: dev}]
- name: weird
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws-iam-authenticator
      args: [token, -i, c, --some-new-flag]
- name: cert
  user: {token: abc}
contexts:
- name: a-aws
  context: {cluster: a, user: a-aws}
- name: b
  context: {cluster: b, user: b-eks}
- name: weird
  context: {cluster: a, user: weird}
- name: plain
  context: {cluster: a, user: cert}
current-context: plain
`

// TestCA returns a PEM certificate made for the test.
func TestCA(t testing.TB) []byte {
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

// BigConfig is a kubeconfig of n clusters, exec users and contexts, each
// cluster with a CA blob, as kubectl writes it.
func BigConfig(t testing.TB, n int) []byte {
	ca := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("certificate bytes "), 60))
	cfg := clientcmdapi.NewConfig()
	for i := range n {
		name := fmt.Sprintf("cluster-%04d", i)
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: fmt.Sprintf("https://10.1.%d.%d:6443", i/250, i%250), CertificateAuthorityData: []byte(ca)}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1beta1", Command: "aws-iam-authenticator", Args: []string{"token", "-i", name}, InteractiveMode: "IfAvailable"}}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// UUID is the cluster ID in Upstream.
const UUID = "5f0c3c8e-7d1e-4b4e-9a55-0d7e2a3f9b11"
