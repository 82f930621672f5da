package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

const (
	clusterID = "bench-cluster"
	region    = "us-west-2"
	roleARN   = "arn:aws:iam::" + ststest.AccountA + ":role/KubeAdmin"
	session   = "bench"
)

// rig is the STS stand-in the subjects talk to: plain HTTP for kubeiam's
// own AssumeRole (AWS_ENDPOINT_URL_STS), and the intercepting proxy under
// the real STS host names for `kubeiam verify --sts`, which GETs a token's
// URL as the authenticator server does.
type rig struct {
	sts      *ststest.Server
	http     *httptest.Server
	proxy    *ststest.Proxy
	caBundle string
	caPEM    []byte
	alice    ststest.Identity
	// closers stop servers subjects started (the SSO stand-in).
	closers []func()
}

func startRig(dir string) (*rig, error) {
	srv := ststest.New(ststest.Options{})
	ca, err := ststest.NewCA()
	if err != nil {
		return nil, err
	}
	bundle := filepath.Join(dir, "ststest-ca.pem")
	if err := ca.WriteBundle(bundle); err != nil {
		return nil, err
	}
	px, err := ststest.NewProxy(ca, srv, ststest.ProxyOptions{})
	if err != nil {
		return nil, err
	}
	return &rig{sts: srv, http: httptest.NewServer(srv), proxy: px, caBundle: bundle, caPEM: ca.CertPEM(), alice: srv.Identity("alice")}, nil
}

func (r *rig) close() {
	for _, c := range r.closers {
		c()
	}
	r.http.Close()
	_ = r.proxy.Close()
}

// env builds the environment of subjects: nothing ambient from the shell
// (no AWS_* or KUBE* variables, no session bus, a private HOME), the keys
// of the stand-in's alice, and extra.
type env struct {
	base []string
	dir  string
	n    atomic.Int64
}

func newEnv(dir string, r *rig) (*env, error) {
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	e := &env{dir: dir, base: []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + r.alice.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + r.alice.SecretAccessKey,
	}}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		e.base = append(e.base, "TMPDIR="+tmp)
	}
	return e, nil
}

func (e *env) with(extra ...string) []string {
	return append(append([]string(nil), e.base...), extra...)
}

// freshDir is a new empty directory, for caches that must start cold.
func (e *env) freshDir(prefix string) (string, error) {
	d := filepath.Join(e.dir, fmt.Sprintf("%s-%d", prefix, e.n.Add(1)))
	return d, os.MkdirAll(d, 0o700)
}

func command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	return cmd
}

// tokenOf extracts the token from an ExecCredential or a bare token.
func tokenOf(out []byte) (string, error) {
	out = bytes.TrimSpace(out)
	if bytes.HasPrefix(out, []byte("k8s-aws-v1.")) {
		return string(out), nil
	}
	var ec struct {
		Kind   string
		Status struct{ Token string }
	}
	if err := json.Unmarshal(out, &ec); err != nil {
		return "", fmt.Errorf("output is not an ExecCredential: %v", err)
	}
	if ec.Kind != "ExecCredential" || ec.Status.Token == "" {
		return "", errors.New("output is an ExecCredential without a token")
	}
	return ec.Status.Token, nil
}

// verifier checks tokens with `kubeiam verify --sts`: the server's offline
// checks, then STS (the stand-in, through the proxy) says whose it is.
type verifier struct {
	kubeiam string
	env     []string
}

func (r *rig) verifier(e *env, bin string) *verifier {
	return &verifier{kubeiam: filepath.Join(bin, "kubeiam"), env: e.with(
		"HTTPS_PROXY="+r.proxy.URL.String(), "SSL_CERT_FILE="+r.caBundle, "XDG_CACHE_HOME="+filepath.Join(e.dir, "verify-cache"))}
}

// callerOf verifies the token in out and returns the caller ARN STS reports.
func (v *verifier) callerOf(out []byte) (string, error) {
	tok, err := tokenOf(out)
	if err != nil {
		return "", err
	}
	cmd := command(v.env, v.kubeiam, "verify", "-t", "-", "-i", clusterID, "--sts", "-o", "json")
	cmd.Stdin = strings.NewReader(tok + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("the token fails verification: %s", firstLine(stderr.String()))
	}
	var res struct {
		Caller struct{ ARN string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return "", fmt.Errorf("could not read verify's answer: %v", err)
	}
	return res.Caller.ARN, nil
}

// expectCaller returns a check that the output is a token of want.
func (v *verifier) expectCaller(want string) func(sample) error {
	return func(s sample) error {
		got, err := v.callerOf(s.Stdout)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("the token is %s's, want %s's", got, want)
		}
		return nil
	}
}

func roleSessionARN() string {
	return "arn:aws:sts::" + ststest.AccountA + ":assumed-role/KubeAdmin/" + session
}
