package ststest

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// Rig is a Server reachable both ways a test may want: directly over plain
// HTTP (for AWS_ENDPOINT_URL_STS) and through the intercepting Proxy under
// real host names (for HTTPS_PROXY + SSL_CERT_FILE), with the EKS and SSO
// stand-ins beside it: the proxy hands each request to the stand-in its
// Host names (see Mux).
type Rig struct {
	*Server
	// Endpoint is the plain-HTTP URL of the server, for AWS_ENDPOINT_URL_STS.
	Endpoint string
	Proxy    *Proxy
	CA       *CA
	// CABundle is a PEM file holding the CA, for SSL_CERT_FILE.
	CABundle string
	// EKS is the EKS API stand-in, authenticating with the same identities;
	// EKSEndpoint is its plain-HTTP URL, for AWS_ENDPOINT_URL_EKS.
	EKS         *EKS
	EKSEndpoint string
	// SSO is the IAM Identity Center stand-in (OIDC and portal);
	// SSOEndpoint is its plain-HTTP URL, for both AWS_ENDPOINT_URL_SSO_OIDC
	// and AWS_ENDPOINT_URL_SSO.
	SSO         *SSO
	SSOEndpoint string
	// IAM serves GetRole over the same roles; IAMEndpoint is its
	// plain-HTTP URL, for AWS_ENDPOINT_URL_IAM.
	IAM         *IAM
	IAMEndpoint string
}

// Start starts a Rig for the test and stops it in t.Cleanup. Requests are
// logged with t.Logf unless opts.Logf is set.
func Start(t testing.TB, opts Options) *Rig {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	srv := New(opts)
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "ststest-ca.pem")
	if err := ca.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}
	eks, sso, iam := NewEKS(srv), NewSSO(srv), NewIAM(srv)
	mux := &Mux{STS: srv, EKS: eks, SSO: sso, IAM: iam}
	px, err := NewProxy(ca, mux, ProxyOptions{Logf: opts.Logf, Allow: mux.Handles})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	es := httptest.NewServer(eks)
	ss := httptest.NewServer(sso)
	is := httptest.NewServer(iam)
	t.Cleanup(func() {
		is.Close()
		hs.Close()
		es.Close()
		ss.Close()
		_ = px.Close()
	})
	return &Rig{Server: srv, Endpoint: hs.URL, Proxy: px, CA: ca, CABundle: bundle, EKS: eks, EKSEndpoint: es.URL, SSO: sso, SSOEndpoint: ss.URL, IAM: iam, IAMEndpoint: is.URL}
}

// Env returns the environment a child process needs to reach the stand-in
// under real STS host names: HTTPS_PROXY, SSL_CERT_FILE and a NO_PROXY that
// keeps loopback traffic (an apiserver) off the proxy.
func (r *Rig) Env() []string {
	return []string{
		"HTTPS_PROXY=" + r.Proxy.URL.String(),
		"https_proxy=" + r.Proxy.URL.String(),
		"SSL_CERT_FILE=" + r.CABundle,
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}
}

// UseAs points the AWS SDK of the test process itself at the stand-in as id:
// its keys in the environment, STS calls to Endpoint, no shared config files
// (their paths under dir), no profile, region or IMDS from the machine. It
// uses t.Setenv, so such tests cannot be parallel.
func (r *Rig) UseAs(t testing.TB, id Identity, dir string) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           id.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       id.SecretAccessKey,
		"AWS_SESSION_TOKEN":           id.SessionToken,
		"AWS_ENDPOINT_URL_STS":        r.Endpoint,
		"AWS_ENDPOINT_URL_EKS":        r.EKSEndpoint,
		"AWS_ENDPOINT_URL_SSO_OIDC":   r.SSOEndpoint,
		"AWS_ENDPOINT_URL_SSO":        r.SSOEndpoint,
		"AWS_ENDPOINT_URL_IAM":        r.IAMEndpoint,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
	} {
		t.Setenv(k, v)
	}
}
