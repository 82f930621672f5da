// Package deadline bounds kubeiam's network calls and says, in one line,
// what went wrong with one. kubectl runs `kubeiam token` on every call and
// waits for it: a dead network must end the call with a message, never
// freeze kubectl. Each command runs under a Budget: Total bounds the whole
// command (retries happen inside it), Attempt bounds each silence of one
// connection (connecting, the proxy's CONNECT answer, the TLS handshake,
// the response headers, every wait for body bytes). The SDK's default HTTP
// client bounds only connecting and the TLS handshake.
//
// It is a leaf: standard library only, so the cache, the token path and
// the bundle installer can all use it.
package deadline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Budget is how long a command may wait on the network.
type Budget struct {
	// Total bounds the command's network work, retries included.
	Total time.Duration
	// Attempt bounds each silence of one connection.
	Attempt time.Duration
}

// Defaults. A token call gives up well before a person would press Ctrl-C
// (STS answers in well under a second; an attempt that is silent for 3 s
// is dead, and the SDK retries once inside the 8 s). Other commands talk to
// more services and may wait longer.
var (
	Token   = Budget{Total: 8 * time.Second, Attempt: 3 * time.Second}
	Command = Budget{Total: 60 * time.Second, Attempt: 10 * time.Second}
	// Refresh is the budget for renewing a cached token that is still
	// valid: on failure the valid one is served, so the wait is short.
	Refresh = 2 * time.Second
)

// Environment variables that change the budgets (flags win over them).
const (
	TimeoutEnv        = "KUBEIAM_TIMEOUT"
	AttemptTimeoutEnv = "KUBEIAM_ATTEMPT_TIMEOUT"
	RefreshTimeoutEnv = "KUBEIAM_REFRESH_TIMEOUT"
)

// FromEnv returns def with what KUBEIAM_TIMEOUT and KUBEIAM_ATTEMPT_TIMEOUT
// say.
func FromEnv(getenv func(string) string, def Budget) (Budget, error) {
	b := def
	var err error
	if b.Total, err = Duration(getenv, TimeoutEnv, b.Total); err != nil {
		return def, err
	}
	if b.Attempt, err = Duration(getenv, AttemptTimeoutEnv, b.Attempt); err != nil {
		return def, err
	}
	return b.Norm(), nil
}

// Norm makes a missing Attempt the Total. An Attempt longer than Total
// means one attempt, bounded by Total alone.
func (b Budget) Norm() Budget {
	if b.Attempt <= 0 {
		b.Attempt = b.Total
	}
	return b
}

// Duration reads a positive Go duration ("8s", "1m") from the environment
// variable name, def when it is unset.
func Duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return def, fmt.Errorf("%s=%q is not a positive duration like 8s or 1m", name, v)
	}
	return d, nil
}

type ctxKey struct{}

// run is one command's budget in a context, with what its calls saw.
type run struct {
	Budget
	start time.Time
	mu    sync.Mutex
	host  string // last host a request went to
	proxy string // the proxy it went through, "" for none
	// failure is the last attempt's error that was an answer (throttled,
	// HTTP 5xx, unreadable), not a silence: when the budget then runs out
	// during the retries, that answer is what happened.
	failure error
}

// NoteFailure records the error of one attempt made under ctx (see run).
// Timeouts and cancellations are not answers and are not recorded.
func NoteFailure(ctx context.Context, err error) {
	r := from(ctx)
	if r == nil || err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isTimeout(err) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failure = err
}

// LastFailure is the last error NoteFailure recorded under ctx's budget.
func LastFailure(ctx context.Context) error {
	r := from(ctx)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failure
}

// Start puts b into ctx and bounds ctx by b.Total; cancel releases it.
func Start(ctx context.Context, b Budget) (context.Context, context.CancelFunc) {
	b = b.Norm()
	ctx = context.WithValue(ctx, ctxKey{}, &run{Budget: b, start: time.Now()})
	if b.Total <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, b.Total)
}

func from(ctx context.Context) *run {
	r, _ := ctx.Value(ctxKey{}).(*run)
	return r
}

// Attempt is the per-attempt bound of ctx's budget; without one,
// KUBEIAM_ATTEMPT_TIMEOUT, else def.
func Attempt(ctx context.Context, def time.Duration) time.Duration {
	if r := from(ctx); r != nil && r.Attempt > 0 {
		return r.Attempt
	}
	if d, err := Duration(os.Getenv, AttemptTimeoutEnv, def); err == nil {
		return d
	}
	return def
}

// Total is KUBEIAM_TIMEOUT, else def: the budget of a command that has no
// flag for it.
func Total(def time.Duration) time.Duration {
	if d, err := Duration(os.Getenv, TimeoutEnv, def); err == nil {
		return d
	}
	return def
}

// Elapsed is how long ctx's budget has run (0 without one).
func Elapsed(ctx context.Context) time.Duration {
	if r := from(ctx); r != nil {
		return time.Since(r.start)
	}
	return 0
}

// Note records that a request to host goes through proxy (nil: direct);
// ProxyFunc calls it for every request, so a message can name the
// endpoint even when the error chain lost it.
func Note(ctx context.Context, host string, proxy *url.URL) {
	r := from(ctx)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.host = host
	r.proxy = ""
	if proxy != nil {
		r.proxy = proxy.Host
	}
}

func last(ctx context.Context) (host, proxy string) {
	r := from(ctx)
	if r == nil {
		return "", ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.host, r.proxy
}

// ProxyFunc wraps a transport's proxy choice (nil: http.ProxyFromEnvironment)
// so that ctx's budget knows where each request went. The requests carry
// ctx (or a child), and only those are noted.
func ProxyFunc(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	return func(r *http.Request) (*url.URL, error) {
		u, err := proxy(r)
		Note(r.Context(), r.URL.Host, u)
		return u, err
	}
}

// Conn wraps c so that each read and each write waiting longer than idle
// fails with a timeout: a server (or proxy) that stops sending, at any
// point of the exchange, ends the attempt.
func Conn(c net.Conn, idle time.Duration) net.Conn {
	if idle <= 0 {
		return c
	}
	return &idleConn{Conn: c, idle: idle}
}

type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if os.IsTimeout(err) {
		return n, &SilenceError{After: c.idle}
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if os.IsTimeout(err) {
		return n, &SilenceError{After: c.idle}
	}
	return n, err
}

// SilenceError is a connection that was silent for After.
type SilenceError struct{ After time.Duration }

func (e *SilenceError) Error() string   { return fmt.Sprintf("no data for %s", e.After) }
func (e *SilenceError) Timeout() bool   { return true }
func (e *SilenceError) Temporary() bool { return true }

// DialContext returns d's DialContext with each connection wrapped by Conn.
func DialContext(d *net.Dialer, idle time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return Conn(c, idle), nil
	}
}

// Apply bounds tr's every wait by attempt: dialing, the TLS handshake, the
// response headers and each silence of a connection; and notes where each
// request goes (see Note).
func Apply(tr *http.Transport, attempt time.Duration) {
	d := &net.Dialer{Timeout: attempt, KeepAlive: 30 * time.Second}
	tr.DialContext = DialContext(d, attempt)
	tr.TLSHandshakeTimeout = attempt
	tr.ResponseHeaderTimeout = attempt
	tr.Proxy = ProxyFunc(tr.Proxy)
}

// where is " (via proxy HOST:PORT)" or "".
func where(proxy string) string {
	if proxy == "" {
		return ""
	}
	return " (via proxy " + proxy + ")"
}

// Round formats a wait for messages: whole seconds from 10 s, tenths below.
func Round(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// String shows a duration the way people write it: 8s, 2.5s, 1m30s.
func String(d time.Duration) string {
	s := Round(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}
