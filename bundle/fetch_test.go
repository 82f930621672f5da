package bundle

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMirrorRewrite(t *testing.T) {
	f := &Fetcher{Mirrors: []Mirror{
		{From: "https://distro.eks.amazonaws.com", To: "https://mirror.example.com/eks-d/"},
		{From: "https://distro.eks.amazonaws.com/kubernetes-1-31/", To: "file:///srv/1-31"},
		{From: "https://anywhere-assets.eks.amazonaws.com/", To: "/srv/eks-a"},
	}}
	for in, want := range map[string]string{
		// Slashes join once whichever side carries them.
		"https://distro.eks.amazonaws.com/kubernetes-1-30/x.yaml": "https://mirror.example.com/eks-d/kubernetes-1-30/x.yaml",
		// The longest prefix wins.
		"https://distro.eks.amazonaws.com/kubernetes-1-31/releases/12/a.tar.gz":       "file:///srv/1-31/releases/12/a.tar.gz",
		"https://anywhere-assets.eks.amazonaws.com/releases/bundles/73/manifest.yaml": "/srv/eks-a/releases/bundles/73/manifest.yaml",
		"https://elsewhere.example.com/a":                                             "https://elsewhere.example.com/a",
	} {
		if got := f.Rewrite(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
	if _, err := ParseMirror("https://a.example.com"); err == nil {
		t.Error("a mirror without = parsed")
	}
	if m, err := ParseMirror("https://a=b=c"); err != nil || m.From != "https://a" || m.To != "b=c" {
		t.Errorf("got %+v %v", m, err)
	}
}

func TestMirrorToFileAndPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kubernetes-1-31"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kubernetes-1-31", "m.yaml"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"file://" + dir, dir, dir + "/"} {
		f := &Fetcher{Mirrors: []Mirror{{From: "https://distro.eks.amazonaws.com/", To: to}}}
		got, err := f.ReadAll(context.Background(), "https://distro.eks.amazonaws.com/kubernetes-1-31/m.yaml", 100)
		if err != nil || string(got) != "hello" {
			t.Errorf("mirror to %s: %q %v", to, got, err)
		}
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	f := &Fetcher{}
	_, err := f.ReadAll(context.Background(), "http://distro.example.com/m.yaml", 100)
	var ie *InsecureError
	if !errors.As(err, &ie) || !strings.Contains(ie.Hint(), "--allow-insecure-http") {
		t.Fatalf("got %v", err)
	}
	// A mirror cannot smuggle plain http in either.
	f.Mirrors = []Mirror{{From: "https://distro.eks.amazonaws.com", To: "http://10.0.0.1"}}
	if _, err := f.ReadAll(context.Background(), "https://distro.eks.amazonaws.com/m.yaml", 100); !errors.As(err, &ie) {
		t.Fatalf("mirror to http: %v", err)
	}
}

func TestRedirectToHTTPRefused(t *testing.T) {
	s := newServer(t)
	s.before = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		http.Redirect(w, r, "http://127.0.0.1:1/m.yaml", http.StatusFound)
		return true
	}
	_, err := s.fetcher(t).ReadAll(context.Background(), s.URL+"/m.yaml", 100)
	var ie *InsecureError
	if !errors.As(err, &ie) || !ie.Redirect {
		t.Fatalf("got %v", err)
	}
}

func TestRetriesOn503ThenSucceeds(t *testing.T) {
	s := newServer(t)
	url := s.put("/m.yaml", []byte("manifest"))
	s.before = func(w http.ResponseWriter, r *http.Request, hit int) bool {
		if hit <= 2 {
			http.Error(w, "slow down", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	f := s.fetcher(t)
	var waits []time.Duration
	f.Backoff = 100 * time.Millisecond
	f.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	got, err := f.ReadAll(context.Background(), url, 100)
	if err != nil || string(got) != "manifest" {
		t.Fatalf("got %q %v", got, err)
	}
	if s.count("/m.yaml") != 3 {
		t.Errorf("%d requests, want 3", s.count("/m.yaml"))
	}
	if len(waits) != 2 || waits[0] != 100*time.Millisecond || waits[1] != 200*time.Millisecond {
		t.Errorf("backoff waits %v, want [100ms 200ms]", waits)
	}
}

func TestRetriesGiveUpAnd404IsFinal(t *testing.T) {
	s := newServer(t)
	s.before = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusBadGateway)
			return true
		}
		return false
	}
	f := s.fetcher(t)
	_, err := f.ReadAll(context.Background(), s.URL+"/down", 100)
	var he *HTTPError
	if !errors.As(err, &he) || he.Code != 502 || !strings.Contains(err.Error(), "gave up after 4 tries") {
		t.Errorf("502: %v", err)
	}
	if s.count("/down") != 4 {
		t.Errorf("502: %d requests, want 4", s.count("/down"))
	}
	_, err = f.ReadAll(context.Background(), s.URL+"/missing", 100)
	if !errors.As(err, &he) || he.Code != 404 || s.count("/missing") != 1 {
		t.Errorf("404: %v after %d requests", err, s.count("/missing"))
	}
}

func TestStalledBodyTimesOutAndRetries(t *testing.T) {
	s := newServer(t)
	url := s.put("/slow", []byte("0123456789"))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s.before = func(w http.ResponseWriter, r *http.Request, hit int) bool {
		if hit == 1 {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("01234"))
			w.(http.Flusher).Flush()
			select { // then nothing, until the test ends
			case <-release:
			case <-r.Context().Done():
			}
			return true
		}
		return false
	}
	f := s.fetcher(t)
	f.StallTimeout = 200 * time.Millisecond
	got, err := f.ReadAll(context.Background(), url, 100)
	if err != nil || string(got) != "0123456789" {
		t.Fatalf("got %q %v", got, err)
	}
	if s.count("/slow") != 2 {
		t.Errorf("%d requests, want 2", s.count("/slow"))
	}
}

func TestCAFileAndSSLCertFile(t *testing.T) {
	s := newServer(t)
	url := s.put("/m.yaml", []byte("ok"))
	t.Setenv("SSL_CERT_FILE", "")
	// Without the CA the server is not trusted.
	plain, err := NewHTTPClient("", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Fetcher{Client: plain, Attempts: 1}).ReadAll(context.Background(), url, 10); err == nil {
		t.Fatal("an unknown CA was trusted")
	}
	// SSL_CERT_FILE is honoured like --ca-file.
	t.Setenv("SSL_CERT_FILE", s.caFile(t))
	c, err := NewHTTPClient("", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := (&Fetcher{Client: c}).ReadAll(context.Background(), url, 10); err != nil || string(got) != "ok" {
		t.Fatalf("SSL_CERT_FILE: %q %v", got, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	if _, err := NewHTTPClient(bad, false); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
}

func TestHTTPSProxyIsUsed(t *testing.T) {
	s := newServer(t)
	url := s.put("/m.yaml", []byte("via proxy"))
	proxied := make(chan string, 1)
	// A CONNECT proxy that records the target and tunnels to the server.
	proxy := newConnectProxy(t, func(target string) { proxied <- target })
	t.Setenv("HTTPS_PROXY", proxy)
	t.Setenv("NO_PROXY", "")
	f := s.fetcher(t) // builds its transport now, reading the environment
	got, err := f.ReadAll(context.Background(), strings.Replace(url, "127.0.0.1", "kubeiam-test.invalid", 1), 100)
	_ = got
	// The name does not resolve: only a proxy can have reached the server.
	select {
	case target := <-proxied:
		if !strings.HasPrefix(target, "kubeiam-test.invalid:") {
			t.Errorf("proxy asked for %s", target)
		}
	default:
		t.Fatalf("the proxy was not used: %v", err)
	}
}
