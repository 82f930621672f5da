package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type entry struct {
	name     string
	body     string
	typeflag byte
	link     string
	mode     int64
}

// tarGz builds a tarball the way EKS-D lays theirs out unless told otherwise.
func tarGz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		tf := e.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o755
		}
		h := &tar.Header{Name: e.name, Typeflag: tf, Linkname: e.link, Mode: mode, Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0)}
		if tf != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if tf == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// authTarball is laid out as the published aws-iam-authenticator archives.
func authTarball(t *testing.T, binary string) []byte {
	return tarGz(t,
		entry{name: "./", typeflag: tar.TypeDir},
		entry{name: "./ATTRIBUTION.txt", body: "attribution\n", mode: 0o644},
		entry{name: "./LICENSES/", typeflag: tar.TypeDir},
		entry{name: "./LICENSES/LICENSE", body: "Apache-2.0\n", mode: 0o644},
		entry{name: "./aws-iam-authenticator", body: binary},
	)
}

func sums(b []byte) (string, string) {
	a := sha256.Sum256(b)
	c := sha512.Sum512(b)
	return hex.EncodeToString(a[:]), hex.EncodeToString(c[:])
}

// selection makes a Selection as Release.Select would for an asset at uri.
func selection(component, uri string, body []byte) *Selection {
	s256, s512 := sums(body)
	return &Selection{
		Component: component, Tag: "v0.6.28", OS: "linux", Arch: "amd64",
		Asset: Asset{Name: filepath.Base(uri), Type: "Archive", OS: "linux", Arch: []string{"amd64"},
			Archive: &ArchiveRef{URI: uri, SHA256: s256, SHA512: s512}},
	}
}

// server is an HTTPS file server that counts requests per path.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
	// before runs first for every request; returning true means it answered.
	before func(w http.ResponseWriter, r *http.Request, hit int) bool
}

func newServer(t *testing.T) *server {
	s := &server{files: map[string][]byte{}, hits: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		hit := s.hits[r.URL.Path]
		body, ok := s.files[r.URL.Path]
		before := s.before
		s.mu.Unlock()
		if before != nil && before(w, r, hit) {
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	// Handshakes the tests make fail on purpose are not news.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *server) put(path string, body []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = body
	return s.URL + path
}

func (s *server) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// caFile writes the server's certificate as a PEM file, the way a private
// CA is handed to --ca-file.
func (s *server) caFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(f, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// fetcher trusts the server through --ca-file and never sleeps for backoff.
func (s *server) fetcher(t *testing.T) *Fetcher {
	t.Helper()
	c, err := NewHTTPClient(s.caFile(t), false)
	if err != nil {
		t.Fatal(err)
	}
	return &Fetcher{Client: c, Backoff: time.Millisecond, sleep: func(context.Context, time.Duration) error { return nil }}
}

// dirEntries lists a directory, for "nothing left behind" checks.
func dirEntries(t *testing.T, dir string) []string {
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

// newConnectProxy starts an HTTP CONNECT proxy that reports each target and
// then tunnels to it; it returns the proxy's URL.
func newConnectProxy(t *testing.T, seen func(target string)) string {
	t.Helper()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		seen(r.Host)
		http.Error(w, "no tunnel in this test", http.StatusBadGateway)
	}))
	t.Cleanup(p.Close)
	return p.URL
}
