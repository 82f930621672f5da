package bundle

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kubeiam/kubeiam/internal/ctxsleep"
	"golang.org/x/net/http/httpproxy"
)

// Mirror rewrites locations that start with From to start with To: how an
// air-gapped site points the published URLs at its own copy (another https
// server, a file:// tree or a plain directory).
type Mirror struct {
	From, To string
}

// ParseMirror parses FROM=TO.
func ParseMirror(s string) (Mirror, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return Mirror{}, fmt.Errorf("bad mirror %q: want FROM=TO, e.g. https://distro.eks.amazonaws.com=https://mirror.example.com/eks-d", s)
	}
	return Mirror{From: from, To: to}, nil
}

// Fetcher reads manifests and archives from https URLs, file:// URLs and
// plain paths, after mirror rewriting. The zero value works (no mirrors,
// system roots, HTTPS_PROXY from the environment).
type Fetcher struct {
	Client            *http.Client // nil: NewHTTPClient("", false)
	Mirrors           []Mirror
	AllowInsecureHTTP bool
	Attempts          int           // tries per location; 0 means 4
	Backoff           time.Duration // wait before the second try, doubled each time; 0 means 500ms
	StallTimeout      time.Duration // a download that sends nothing for this long fails; 0 means 60s
	Log               io.Writer     // retry notices; nil discards them

	// sleep is the seam tests use to skip the backoff waits.
	sleep func(context.Context, time.Duration) error
}

// NewHTTPClient returns a client that trusts the system roots, SSL_CERT_FILE
// and caFile, goes through HTTPS_PROXY/NO_PROXY, and follows no redirect to
// plain http unless allowInsecureHTTP.
func NewHTTPClient(caFile string, allowInsecureHTTP bool) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	// Go reads SSL_CERT_FILE itself only on some platforms (not macOS, not
	// Windows); adding it here makes the variable mean the same everywhere.
	for _, f := range []string{os.Getenv("SSL_CERT_FILE"), caFile} {
		if f == "" {
			continue
		}
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("could not read CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("could not read CA file %s: no PEM certificate in it", f)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// http.ProxyFromEnvironment reads the environment once per process;
	// httpproxy reads it now, so each client honours HTTPS_PROXY and
	// NO_PROXY as they are when it is made.
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	tr.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.ResponseHeaderTimeout = responseHeaderTimeout
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if req.URL.Scheme == "http" && !allowInsecureHTTP {
				return &InsecureError{URL: req.URL.String(), Redirect: true}
			}
			return nil
		},
	}, nil
}

// responseHeaderTimeout is how long a server may take to start answering
// (a peer that accepts and never answers fails after it, and is retried).
// A variable only so the fault tests can wait less than half a minute.
var responseHeaderTimeout = 30 * time.Second

// InsecureError refuses a plain http location: a manifest fetched over http
// can name any checksum, so the checksums would protect nothing.
type InsecureError struct {
	URL      string
	Redirect bool
}

func (e *InsecureError) Error() string {
	if e.Redirect {
		return fmt.Sprintf("refusing redirect to plain http URL %s", e.URL)
	}
	return fmt.Sprintf("refusing plain http URL %s", e.URL)
}

// Hint says how to get past the refusal.
func (e *InsecureError) Hint() string {
	return "use https (with --ca-file for a private CA), a --mirror to a file:// tree, or --allow-insecure-http on a network you trust"
}

// HTTPError is a non-success answer from a server.
type HTTPError struct {
	URL    string
	Status string
	Code   int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("%s: %s", e.URL, e.Status) }

// retryable marks an error worth another try: a 5xx or 429, a timeout, a
// connection reset, a body cut short.
type retryable struct{ err error }

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

func isRetryable(err error) bool {
	var r *retryable
	return errors.As(err, &r)
}

// Rewrite applies the longest matching mirror to loc.
func (f *Fetcher) Rewrite(loc string) string {
	best := -1
	for i, m := range f.Mirrors {
		if strings.HasPrefix(loc, m.From) && (best < 0 || len(m.From) > len(f.Mirrors[best].From)) {
			best = i
		}
	}
	if best < 0 {
		return loc
	}
	m := f.Mirrors[best]
	rest := loc[len(m.From):]
	// Join with exactly one slash whichever side carries it, so
	// "https://host/=/srv/mirror" and "https://host=/srv/mirror/" both work.
	to := m.To
	switch {
	case strings.HasSuffix(to, "/") && strings.HasPrefix(rest, "/"):
		rest = rest[1:]
	case strings.HasSuffix(m.From, "/") && !strings.HasSuffix(to, "/") && rest != "":
		to += "/"
	}
	return to + rest
}

// Download is an open location.
type Download struct {
	io.ReadCloser
	Size int64  // -1 when unknown
	Loc  string // after mirror rewriting
}

// Open opens loc (after mirror rewriting) for reading, retrying server
// errors and timeouts. The caller closes the result.
func (f *Fetcher) Open(ctx context.Context, loc string) (*Download, error) {
	var d *Download
	err := f.retry(ctx, func() error {
		var err error
		d, err = f.open(ctx, loc)
		return err
	})
	return d, err
}

func (f *Fetcher) open(ctx context.Context, loc string) (*Download, error) {
	target := f.Rewrite(loc)
	if !strings.Contains(target, "://") {
		return openFile(target, target)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("could not parse URL %q: %w", target, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL %s names host %q: only local files are supported", target, u.Host)
		}
		return openFile(u.Path, target)
	case "http":
		if !f.AllowInsecureHTTP {
			return nil, &InsecureError{URL: target}
		}
	case "https":
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q in %s: use https, file:// or a path", u.Scheme, target)
	}
	client := f.Client
	if client == nil {
		if client, err = NewHTTPClient("", f.AllowInsecureHTTP); err != nil {
			return nil, err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("could not build request for %s: %w", target, err)
	}
	req.Header.Set("User-Agent", "kubeiam-bundle")
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		var ie *InsecureError
		if errors.As(err, &ie) || ctx.Err() != nil {
			return nil, err
		}
		return nil, classifyNetErr(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		herr := &HTTPError{URL: target, Status: resp.Status, Code: resp.StatusCode}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, &retryable{herr}
		}
		return nil, herr
	}
	stall := f.StallTimeout
	if stall <= 0 {
		stall = 60 * time.Second
	}
	sr := &stallReader{r: resp.Body, d: stall, cancel: cancel}
	sr.t = time.AfterFunc(stall, func() { sr.stalled.Store(true); cancel() })
	return &Download{ReadCloser: sr, Size: resp.ContentLength, Loc: target}, nil
}

func openFile(path, loc string) (*Download, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("could not open %s: %w", loc, err)
	}
	size := int64(-1)
	if fi, err := fh.Stat(); err == nil {
		if fi.IsDir() {
			fh.Close()
			return nil, fmt.Errorf("could not open %s: it is a directory", loc)
		}
		size = fi.Size()
	}
	return &Download{ReadCloser: fh, Size: size, Loc: loc}, nil
}

// classifyNetErr marks the network failures that another try may cure.
func classifyNetErr(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, errStalled):
		return &retryable{err}
	}
	return err
}

var errStalled = errors.New("download stalled")

// stallReader fails a body that sends nothing for d, which a client-wide
// timeout cannot express without also capping a slow but steady download.
type stallReader struct {
	r       io.ReadCloser
	t       *time.Timer
	d       time.Duration
	cancel  context.CancelFunc
	stalled atomic.Bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.t.Reset(s.d)
	}
	if err != nil && err != io.EOF {
		if s.stalled.Load() {
			err = fmt.Errorf("%w: no data for %s", errStalled, s.d)
		}
		err = classifyNetErr(err)
	}
	return n, err
}

func (s *stallReader) Close() error {
	s.t.Stop()
	err := s.r.Close()
	s.cancel()
	return err
}

// retry runs fn until it succeeds, fails for good, or the tries run out,
// waiting Backoff, 2×Backoff, … between tries.
func (f *Fetcher) retry(ctx context.Context, fn func() error) error {
	attempts := f.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	wait := f.Backoff
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	sleep := f.sleep
	if sleep == nil {
		sleep = ctxsleep.Sleep
	}
	var err error
	for i := 1; ; i++ {
		err = fn()
		if err == nil || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
		if i >= attempts {
			return fmt.Errorf("gave up after %d tries: %w", attempts, err)
		}
		if f.Log != nil {
			fmt.Fprintf(f.Log, "retrying in %s (try %d of %d failed: %v)\n", wait, i, attempts, err)
		}
		if serr := sleep(ctx, wait); serr != nil {
			return err
		}
		wait *= 2
	}
}

// ReadAll reads a whole location of at most max bytes (manifests, Bundles),
// retrying a body cut short as well as a failed request.
func (f *Fetcher) ReadAll(ctx context.Context, loc string, max int64) ([]byte, error) {
	var data []byte
	err := f.retry(ctx, func() error {
		d, err := f.open(ctx, loc)
		if err != nil {
			return err
		}
		defer d.Close()
		data, err = io.ReadAll(io.LimitReader(d, max+1))
		if err != nil {
			return fmt.Errorf("could not read %s: %w", d.Loc, err)
		}
		if int64(len(data)) > max {
			return fmt.Errorf("could not read %s: larger than %d bytes", d.Loc, max)
		}
		if d.Size >= 0 && int64(len(data)) != d.Size {
			return &retryable{fmt.Errorf("could not read %s: got %d of %d bytes", d.Loc, len(data), d.Size)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}
