package installer

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRequestsEndOnASilentAPIServer: an API server that accepts the
// connection and never answers ends each request at requestTimeout.
func TestRequestsEndOnASilentAPIServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://`+ln.Addr().String()+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	old := requestTimeout
	requestTimeout = 300 * time.Millisecond
	defer func() { requestTimeout = old }()
	cfg, err := RESTConfig(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Get(context.Background(), "ConfigMap", "kube-system", "aws-auth")
	if err == nil {
		t.Fatal("a silent API server answered")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %s, want about %s: %v", d, requestTimeout, err)
	}
	if want := "could not get ConfigMap kube-system/aws-auth: no answer from " + ln.Addr().String() + " in 300ms"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}
