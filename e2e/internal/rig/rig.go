// Package rig runs a real control plane on 127.0.0.1 for the e2e
// scenarios: etcd, kube-apiserver (RBAC, token webhook), the
// aws-iam-authenticator server in EKSConfigMap mode, and the ststest STS
// stand-in behind its TLS-intercepting proxy. Every port is free-chosen
// except the authenticator's fixed :21363 health listener, which is why one
// rig at a time holds a lock.
package rig

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeiam/kubeiam/e2e/internal/build"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// Options configure Start.
type Options struct {
	Bins build.Binaries
	// Dir is the working directory for certificates, data and logs; a new
	// temporary directory when empty.
	Dir string
	// ClusterID is the authenticator's cluster ID; a random UUID (as EKS
	// Anywhere makes) when empty.
	ClusterID string
	// Logf receives progress lines; silent when nil.
	Logf func(format string, args ...any)
	// Images are the authenticator image references to import into the
	// node's containerd (the ones `server manifests` / `--bundles`
	// resolve); the binary in them is Bins.Authenticator.
	Images []string
	// NoNode runs the authenticator as a harness process even where a
	// node could start.
	NoNode bool
}

// Rig is a running stack. Stop it with Stop, whatever happened.
type Rig struct {
	Dir       string
	ClusterID string
	Bins      build.Binaries
	// AdminKubeconfig authenticates with a system:masters client
	// certificate and trusts the cluster CA.
	AdminKubeconfig string
	APIServerURL    string
	// CAFile is the cluster CA (apiserver and authenticator serving certs).
	CAFile string
	// STS is the stand-in; Proxy fronts it under real STS host names and
	// STSCABundle is the CA file clients need (SSL_CERT_FILE).
	STS         *ststest.Server
	Proxy       *ststest.Proxy
	STSCABundle string
	// Node is the node's name when the rig runs one: the authenticator
	// then runs as the DaemonSet `kubeiam server install` applies. When
	// it is empty, NodeSkip says why in one line and the rig runs the
	// authenticator itself with the files `server init` wrote.
	Node     string
	NodeSkip string
	// APIServerFlags are the flags kube-apiserver took from `kubeiam server
	// init` (its kubeadm patch, host paths).
	APIServerFlags []string

	logf     func(format string, args ...any)
	ca       *pki
	node     *node
	nodeSock string
	procs    []*proc
	unlock   func()
	stsLog   *os.File
	stopOnce sync.Once
	// auth is how the authenticator server runs (see RestartAuthenticator).
	auth AuthenticatorOptions
}

// HealthPort is the port aws-iam-authenticator v0.7.2 always opens for
// plain-HTTP health checks, whatever --port says.
const HealthPort = 21363

// Start brings the stack up and waits until each component is ready. On
// error everything started so far is stopped; the logs stay in Dir.
func Start(ctx context.Context, opts Options) (_ *Rig, err error) {
	r := &Rig{Bins: opts.Bins, ClusterID: opts.ClusterID, logf: opts.Logf, Dir: opts.Dir}
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	if r.ClusterID == "" {
		r.ClusterID = newUUID()
	}
	if r.Dir == "" {
		if r.Dir, err = os.MkdirTemp("", "kubeiam-e2e-"); err != nil {
			return nil, fmt.Errorf("could not create work directory: %w", err)
		}
	}
	if r.unlock, err = lock(ctx, r.logf); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		cleanStale(r.logf)
	}
	defer func() {
		if err != nil {
			r.Stop()
		}
	}()
	for _, d := range []string{"logs", "pki", "etcd", "authenticator", "kubecache"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("could not create %s directory: %w", d, err)
		}
	}
	start := time.Now()
	if err := r.startSTS(); err != nil {
		return nil, err
	}
	if r.ca, err = newPKI(); err != nil {
		return nil, err
	}
	r.CAFile = filepath.Join(r.Dir, "pki", "ca.crt")
	if err := os.WriteFile(r.CAFile, r.ca.certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("could not write CA: %w", err)
	}
	etcdURL, err := r.startEtcd(ctx)
	if err != nil {
		return nil, err
	}
	if r.APIServerFlags, err = r.initServer(ctx); err != nil {
		return nil, err
	}
	r.NodeSkip, _, _ = strings.Cut(r.nodeUnavailable(), "\n")
	if opts.NoNode {
		r.NodeSkip = "the rig was asked for no node"
	}
	flags := r.APIServerFlags
	if r.NodeSkip == "" {
		nf, err := r.nodeAPIServerFlags()
		if err != nil {
			return nil, err
		}
		flags = append(append([]string{}, flags...), nf...)
	}
	port, err := r.startAPIServer(ctx, etcdURL, flags)
	if err != nil {
		return nil, err
	}
	if r.NodeSkip == "" {
		if err := r.startNode(ctx, opts.Images, port); err != nil {
			r.logf("node failed to start: %v", err)
			r.NodeSkip = "the node failed to start: " + strings.SplitN(err.Error(), "\n", 2)[0]
			r.stopNode()
		}
	}
	if r.NodeSkip != "" {
		r.logf("no node (%s); the rig runs aws-iam-authenticator itself with the files server init wrote", r.NodeSkip)
		if err := r.startAuthenticator(ctx); err != nil {
			return nil, err
		}
	}
	r.logf("stack ready in %s: apiserver %s, cluster ID %s, STS proxy %s", time.Since(start).Round(100*time.Millisecond), r.APIServerURL, r.ClusterID, r.Proxy.URL)
	return r, nil
}

// lock takes the machine-wide rig lock, waiting a while for another rig.
func lock(ctx context.Context, logf func(string, ...any)) (func(), error) {
	cache, err := build.CacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("could not create cache directory: %w", err)
	}
	path := filepath.Join(cache, "rig.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("could not open rig lock: %w", err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for waited := false; ; waited = true {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			break
		}
		if !waited {
			holder, _ := os.ReadFile(path)
			logf("waiting for the rig lock %s (held by pid %s; a kept demo stack is stopped with `make demo-down`)", path, holder)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("could not take %s within 3m: %w (stop the other rig, e.g. `make demo-down`)", path, errLocked)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	// The lock alone does not prove the port is free: a component left over
	// from a killed run may still hold it.
	l, err := net.Listen("tcp", ":"+strconv.Itoa(HealthPort))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("could not use port %d, which aws-iam-authenticator needs (a leftover authenticator process?): %w", HealthPort, err)
	}
	l.Close()
	return func() { f.Close() }, nil
}

func (r *Rig) startSTS() error {
	var err error
	r.stsLog, err = os.OpenFile(filepath.Join(r.Dir, "logs", "sts.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("could not open sts log: %w", err)
	}
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(r.stsLog, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}
	r.STS = ststest.New(ststest.Options{Logf: logf})
	ca, err := ststest.NewCA()
	if err != nil {
		return err
	}
	r.STSCABundle = filepath.Join(r.Dir, "pki", "sts-ca.pem")
	if err := ca.WriteBundle(r.STSCABundle); err != nil {
		return err
	}
	if r.Proxy, err = ststest.NewProxy(ca, r.STS, ststest.ProxyOptions{Logf: logf}); err != nil {
		return err
	}
	r.logf("STS stand-in behind proxy %s (log %s)", r.Proxy.URL, r.stsLog.Name())
	return nil
}

// ProxyEnv is what a process needs to reach STS through the stand-in and
// everything on loopback directly.
func (r *Rig) ProxyEnv() []string {
	p := r.Proxy.URL.String()
	return []string{"HTTPS_PROXY=" + p, "https_proxy=" + p, "SSL_CERT_FILE=" + r.STSCABundle,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost"}
}

func (r *Rig) startEtcd(ctx context.Context) (string, error) {
	client, err := freePort()
	if err != nil {
		return "", err
	}
	peer, err := freePort()
	if err != nil {
		return "", err
	}
	cu := "http://127.0.0.1:" + strconv.Itoa(client)
	pu := "http://127.0.0.1:" + strconv.Itoa(peer)
	p, err := r.spawn("etcd", false, nil, r.Bins.Etcd,
		"--name=e2e", "--data-dir="+filepath.Join(r.Dir, "etcd"),
		"--listen-client-urls="+cu, "--advertise-client-urls="+cu,
		"--listen-peer-urls="+pu, "--initial-advertise-peer-urls="+pu,
		"--initial-cluster=e2e="+pu, "--log-level=warn")
	if err != nil {
		return "", err
	}
	if err := waitFor(ctx, p, 30*time.Second, httpOK(http.DefaultClient, cu+"/health")); err != nil {
		return "", err
	}
	return cu, nil
}

func (r *Rig) startAPIServer(ctx context.Context, etcdURL string, extra []string) (int, error) {
	pk := filepath.Join(r.Dir, "pki")
	crt, key, err := r.ca.issue("kube-apiserver", nil, []string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", serviceIP})
	if err != nil {
		return 0, err
	}
	if err := writeKeyPair(filepath.Join(pk, "apiserver.crt"), filepath.Join(pk, "apiserver.key"), crt, key); err != nil {
		return 0, err
	}
	acrt, akey, err := r.ca.issue("kubeiam-e2e-admin", []string{"system:masters"}, nil)
	if err != nil {
		return 0, err
	}
	if err := serviceAccountKey(filepath.Join(pk, "sa.pub"), filepath.Join(pk, "sa.key")); err != nil {
		return 0, err
	}
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	r.APIServerURL = "https://127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + pk,
		"--tls-cert-file=" + filepath.Join(pk, "apiserver.crt"), "--tls-private-key-file=" + filepath.Join(pk, "apiserver.key"),
		"--client-ca-file=" + r.CAFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(pk, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pk, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		// Node: the kubelet's own credentials; RBAC for everyone else.
		"--authorization-mode=Node,RBAC",
		"--authentication-token-webhook-version=v1",
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		// Debian's etcd 3.4.23 predates the progress requests the watch
		// cache needs to serve a watch without a resourceVersion (how the
		// authenticator watches aws-auth): it answers "Too large resource
		// version" until some ConfigMap changes. Without the cache every
		// watch is served by etcd itself.
		"--watch-cache=false",
		"--v=1"}, extra...)
	p, err := r.spawn("kube-apiserver", false, noProxy, r.Bins.KubeAPIServer, args...)
	if err != nil {
		return 0, err
	}
	r.AdminKubeconfig = filepath.Join(r.Dir, "admin.kubeconfig")
	if err := os.WriteFile(r.AdminKubeconfig, []byte(kubeconfigYAML(r.APIServerURL, r.ca.certPEM, "admin", userFields{certPEM: acrt, keyPEM: akey})), 0o600); err != nil {
		return 0, fmt.Errorf("could not write admin kubeconfig: %w", err)
	}
	cert, err := tls.X509KeyPair(acrt, akey)
	if err != nil {
		return 0, fmt.Errorf("could not load admin certificate: %w", err)
	}
	admin := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{RootCAs: r.caPool(), Certificates: []tls.Certificate{cert}}}}
	// /readyz waits for the RBAC bootstrap roles (view, cluster-admin) the
	// scenarios bind to.
	return port, waitFor(ctx, p, 90*time.Second, httpOK(admin, r.APIServerURL+"/readyz"))
}

func (r *Rig) caPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(r.ca.certPEM)
	return p
}

// startAuthenticator is the fallback when there is no node: the server
// runs as a process of the rig, but on the files `kubeiam server init`
// wrote (its certificate and key as state, the port the webhook kubeconfig
// names), with r.auth's backend modes and API identity.
func (r *Rig) startAuthenticator(ctx context.Context) error {
	dir := filepath.Join(r.Dir, "authenticator")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("clusterID: "+r.ClusterID+"\n"), 0o644); err != nil {
		return fmt.Errorf("could not write authenticator config: %w", err)
	}
	env := append(r.ProxyEnv(), "AWS_REGION=us-east-1")
	kubeconfig, err := r.authenticatorKubeconfig()
	if err != nil {
		return err
	}
	p, err := r.spawn("aws-iam-authenticator", true, env, r.Bins.Authenticator, "server",
		"--config="+cfg,
		"--backend-mode="+r.auth.modes(),
		"--kubeconfig="+kubeconfig,
		"--state-dir="+filepath.Join(InitDir, "pki"),
		"--generate-kubeconfig="+filepath.Join(InitDir, "kubeconfig.yaml"),
		"--kubeconfig-pregenerated=true",
		"--address=127.0.0.1")
	if err != nil {
		return err
	}
	serverCA, err := os.ReadFile(filepath.Join(InitDir, "pki", "cert.pem"))
	if err != nil {
		return fmt.Errorf("could not read the server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(serverCA)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return waitFor(ctx, p, 30*time.Second, httpOK(c, "https://localhost:21362/healthz"))
}

// Stop stops every component (authenticator first, etcd last), closes the
// STS proxy and releases the lock. It is safe to call more than once.
func (r *Rig) Stop() {
	r.stopOnce.Do(func() {
		r.stopNode()
		for i := len(r.procs) - 1; i >= 0; i-- {
			r.procs[i].stop()
		}
		if r.Proxy != nil {
			_ = r.Proxy.Close()
		}
		if r.stsLog != nil {
			r.stsLog.Close()
		}
		if _, err := os.Stat(filepath.Join(InitDir, rigMarker)); err == nil {
			// server init's files: the host directory the lock covers.
			os.RemoveAll(InitDir)
			os.Remove(filepath.Dir(InitDir)) // only if empty: it may be a real host's
		}
		if r.unlock != nil {
			r.unlock()
		}
		r.logf("stack stopped")
	})
}

// Leftovers lists components whose process group still has a live
// process after Stop; it is empty when teardown was clean.
func (r *Rig) Leftovers() []string {
	var out []string
	for _, p := range r.procs {
		// Signal 0 to the group: ESRCH means every member is gone.
		if err := syscall.Kill(-p.cmd.Process.Pid, 0); err == nil {
			out = append(out, fmt.Sprintf("%s (pgid %d)", p.name, p.cmd.Process.Pid))
		}
	}
	return append(out, r.nodeLeftovers()...)
}

// Logs returns the log file of each component, by name.
func (r *Rig) Logs() map[string]string {
	m := map[string]string{"sts": filepath.Join(r.Dir, "logs", "sts.log")}
	for _, p := range r.procs {
		m[p.name] = p.log
	}
	pods, _ := filepath.Glob(filepath.Join(r.Dir, "logs", "pod-*.log"))
	for _, p := range pods {
		m[strings.TrimSuffix(filepath.Base(p), ".log")] = p
	}
	return m
}

// DumpLogs writes the last lines of every component's log to w.
func (r *Rig) DumpLogs(w io.Writer, lines int) {
	for name, path := range r.Logs() {
		fmt.Fprintf(w, "----- %s (%s), last %d lines -----\n%s\n", name, path, lines, tailFile(path, lines))
	}
}

// Exited lists the components that have exited; during a test any entry
// means a component died under it.
func (r *Rig) Exited() []string {
	var out []string
	for _, p := range r.procs {
		if p.exited() {
			out = append(out, p.name)
		}
	}
	return out
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type userFields struct {
	certPEM, keyPEM []byte
	exec            *Exec
}

// Exec is a kubeconfig user's exec credential plugin block.
type Exec struct {
	Command string
	Args    []string
	Env     [][2]string
}

// kubeconfigYAML renders a one-cluster, one-user kubeconfig. JSON strings
// are valid YAML, so values are quoted with strconv.Quote.
func kubeconfigYAML(server string, caPEM []byte, user string, u userFields) string {
	q := strconv.Quote
	s := "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n" +
		"    server: " + q(server) + "\n" +
		"    certificate-authority-data: " + base64.StdEncoding.EncodeToString(caPEM) + "\n" +
		"users:\n- name: " + q(user) + "\n  user:"
	switch {
	case u.exec != nil:
		s += "\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      interactiveMode: Never\n      command: " + q(u.exec.Command) + "\n      args:"
		if len(u.exec.Args) == 0 {
			s += " []"
		}
		for _, a := range u.exec.Args {
			s += "\n      - " + q(a)
		}
		if len(u.exec.Env) > 0 {
			s += "\n      env:"
			for _, kv := range u.exec.Env {
				s += "\n      - name: " + q(kv[0]) + "\n        value: " + q(kv[1])
			}
		}
		s += "\n"
	case u.certPEM != nil:
		s += "\n    client-certificate-data: " + base64.StdEncoding.EncodeToString(u.certPEM) +
			"\n    client-key-data: " + base64.StdEncoding.EncodeToString(u.keyPEM) + "\n"
	default:
		s += " {}\n"
	}
	return s + "contexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: " + q(user) + "\ncurrent-context: e2e\n"
}

// UserKubeconfig writes a kubeconfig for the cluster whose user runs the
// given exec plugin (no credentials at all when e is nil), and returns its
// path.
func (r *Rig) UserKubeconfig(name string, e *Exec) (string, error) {
	path := filepath.Join(r.Dir, name+".kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfigYAML(r.APIServerURL, r.ca.certPEM, name, userFields{exec: e})), 0o600); err != nil {
		return "", fmt.Errorf("could not write kubeconfig: %w", err)
	}
	return path, nil
}

// AuthenticatorURL is the aws-iam-authenticator server's webhook URL
// (the port `server init`'s webhook kubeconfig names), for tests that put
// something in front of it; AuthenticatorCA is the certificate it serves.
func (r *Rig) AuthenticatorURL() string {
	return "https://127.0.0.1:21362/authenticate"
}

// AuthenticatorCA is the server's self-signed certificate `server init`
// wrote (PEM), the one the webhook kubeconfig trusts.
func (r *Rig) AuthenticatorCA() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(InitDir, "pki", "cert.pem"))
	if err != nil {
		return nil, fmt.Errorf("could not read the server certificate: %w", err)
	}
	return b, nil
}
