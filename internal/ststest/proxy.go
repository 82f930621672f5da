package ststest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// CA is a throw-away certificate authority that mints a leaf certificate for
// any host name a client asks the Proxy for.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// NewCA creates a CA valid for a day, which outlives any test run.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("could not generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kubeiam ststest CA", Organization: []string{"kubeiam tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("could not create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("could not parse CA certificate: %w", err)
	}
	return &CA{
		cert:   cert,
		key:    key,
		pem:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		leaves: map[string]*tls.Certificate{},
	}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// CertPEM returns the CA certificate in PEM form.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.pem...) }

// Pool returns a pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// WriteBundle writes the CA certificate to path (mode 0644) for use as
// SSL_CERT_FILE. That variable replaces the system roots, which is what the
// rig wants: nothing but the stand-in can be reached anyway.
func (ca *CA) WriteBundle(path string) error {
	if err := os.WriteFile(path, ca.pem, 0o644); err != nil {
		return fmt.Errorf("could not write CA bundle: %w", err)
	}
	return nil
}

// Leaf returns a serving certificate for host (a DNS name or an IP address),
// minted on first use.
func (ca *CA) Leaf(host string) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[host]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("could not generate leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(23 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("could not create leaf certificate for %s: %w", host, err)
	}
	c := &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
	ca.leaves[host] = c
	return c, nil
}

// Proxy is an HTTP CONNECT proxy on 127.0.0.1 that terminates TLS for the
// hosts it accepts, with certificates from its CA, and hands the decrypted
// requests to a handler. Clients keep using real STS host names; only
// HTTPS_PROXY and SSL_CERT_FILE point them here.
type Proxy struct {
	// URL is the proxy address, http://127.0.0.1:PORT, for HTTPS_PROXY.
	URL *url.URL

	ca      *CA
	allow   func(host string) bool
	ln      net.Listener
	inner   *http.Server
	conns   chan net.Conn
	logf    func(format string, args ...any)
	mu      sync.Mutex
	tunnels map[string]int
	closed  chan struct{}
	wg      sync.WaitGroup
}

// ProxyOptions configure a Proxy.
type ProxyOptions struct {
	// Allow decides which CONNECT targets (host without port) are
	// intercepted; others get 403, so a client that sends apiserver traffic
	// through the proxy (missing NO_PROXY) fails loudly. Default: IsSTSHost.
	Allow func(host string) bool
	// Logf, when set, receives one line per tunnel.
	Logf func(format string, args ...any)
}

// NewProxy starts a proxy on a free port of 127.0.0.1 serving handler.
func NewProxy(ca *CA, handler http.Handler, opts ProxyOptions) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("could not listen: %w", err)
	}
	p := &Proxy{
		URL:     &url.URL{Scheme: "http", Host: ln.Addr().String()},
		ca:      ca,
		allow:   opts.Allow,
		ln:      ln,
		conns:   make(chan net.Conn),
		logf:    opts.Logf,
		tunnels: map[string]int{},
		closed:  make(chan struct{}),
	}
	if p.allow == nil {
		p.allow = IsSTSHost
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	// One http.Server serves the decrypted side of every tunnel; it sees
	// *tls.Conn values and so fills in Request.TLS.
	p.inner = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		_ = p.inner.Serve(chanListener{p})
	}()
	go func() {
		defer p.wg.Done()
		outer := &http.Server{Handler: http.HandlerFunc(p.serveConnect), ReadHeaderTimeout: 10 * time.Second}
		go func() { <-p.closed; _ = outer.Close() }()
		_ = outer.Serve(ln)
	}()
	return p, nil
}

// Tunnels returns how many CONNECT tunnels were opened to host ("sts.amazonaws.com").
func (p *Proxy) Tunnels(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tunnels[host]
}

// Client returns an http.Client that goes through the proxy and trusts its
// CA, as a process started with HTTPS_PROXY and SSL_CERT_FILE would.
func (p *Proxy) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(p.URL),
		TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool()},
	}, Timeout: 10 * time.Second}
}

// Close stops the proxy and closes every tunnel.
func (p *Proxy) Close() error {
	select {
	case <-p.closed:
		return nil
	default:
	}
	close(p.closed)
	err := p.inner.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "ststest proxy: only CONNECT is supported", http.StatusMethodNotAllowed)
		return
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if !p.allow(host) {
		p.logf("ststest proxy: CONNECT %s refused (not an intercepted host)", r.Host)
		http.Error(w, "ststest proxy: host not intercepted: "+host, http.StatusForbidden)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "ststest proxy: cannot hijack", http.StatusInternalServerError)
		return
	}
	raw, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := raw.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		_ = raw.Close()
		return
	}
	p.mu.Lock()
	p.tunnels[host]++
	p.mu.Unlock()
	p.logf("ststest proxy: CONNECT %s", r.Host)
	tc := tls.Server(bufferedConn{raw, buf.Reader}, &tls.Config{
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" {
				name = host
			}
			return p.ca.Leaf(name)
		},
	})
	select {
	case p.conns <- tc:
	case <-p.closed:
		_ = tc.Close()
	}
}

// chanListener feeds hijacked tunnels to the inner http.Server.
type chanListener struct{ p *Proxy }

func (l chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.p.conns:
		return c, nil
	case <-l.p.closed:
		return nil, net.ErrClosed
	}
}

func (l chanListener) Close() error   { return nil }
func (l chanListener) Addr() net.Addr { return l.p.ln.Addr() }

// bufferedConn reads first what the CONNECT reader had already buffered.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }
