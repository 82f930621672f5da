package deadline

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/text"
)

// NetError is a network failure told in one line that names the endpoint
// and what happened: "no answer from sts.us-west-2.amazonaws.com in 8s
// (via proxy 127.0.0.1:3128)". Err is the cause, for errors.Is.
type NetError struct {
	Msg   string
	Host  string
	Proxy string
	Fix   string
	// Timeout is true for "no answer" (not for refused, reset, garbled).
	TimedOut bool
	Err      error
}

func (e *NetError) Error() string    { return e.Msg }
func (e *NetError) Unwrap() error    { return e.Err }
func (e *NetError) Hint() string     { return e.Fix }
func (e *NetError) Kind() hint.Kind  { return hint.Network }
func (e *NetError) Timeout() bool    { return e.TimedOut }
func (e *NetError) Temporary() bool  { return true }
func (e *NetError) Is(t error) bool  { return t == ErrNetwork }
func (e *NetError) Endpoint() string { return e.Host }

// ErrNetwork matches every NetError with errors.Is.
var ErrNetwork = errors.New("network failure")

// Describe tells err as a NetError when it is a network failure (no answer
// within the budget, refused, reset, closed, a proxy that failed, an
// unknown name, an untrusted certificate), nil otherwise. The endpoint
// comes from the error, else from the last request ctx's budget saw.
func Describe(ctx context.Context, err error) *NetError {
	if err == nil {
		return nil
	}
	var ne *NetError
	if errors.As(err, &ne) {
		return ne
	}
	host, proxy := last(ctx)
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			if h := u.Host; trimPort(h) != trimPort(host) {
				host, proxy = h, ""
			}
		}
	}
	if host == "" {
		host = "the endpoint"
	}
	host = trimPort(host)
	out := &NetError{Host: host, Proxy: proxy, Err: err}
	via := where(proxy)
	fix := "check the network (and HTTPS_PROXY / NO_PROXY), then retry"
	if proxy != "" {
		fix = "check the proxy (HTTPS_PROXY=" + proxy + ") and the network, then retry"
	}
	var op *net.OpError
	isProxyOp := errors.As(err, &op) && op.Op == "proxyconnect"
	if isProxyOp && proxy == "" && op.Addr != nil {
		proxy = op.Addr.String()
		out.Proxy, via = proxy, where(proxy)
	}
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	// Once the budget has run out, "use of closed network connection" and
	// an answer cut short (EOF) are kubeiam's own side closing the
	// connection mid-answer — the transport does so when the deadline ends
	// while the body is read, and the SDK then reports the failed read as
	// an answer it could not parse. It is the same silence as a timeout.
	cutByBudget := errors.Is(ctx.Err(), context.DeadlineExceeded) &&
		(errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
	timedOut := errors.Is(err, context.DeadlineExceeded) || isTimeout(err) || cutByBudget
	switch {
	case timedOut:
		waited := Elapsed(ctx)
		if waited <= 0 {
			var se *SilenceError
			if errors.As(err, &se) {
				waited = se.After
			}
		}
		out.TimedOut = true
		in := ""
		if waited > 0 {
			in = " in " + String(waited)
		}
		if isProxyOp {
			out.Msg = fmt.Sprintf("no answer from proxy %s for %s%s", proxy, host, in)
		} else {
			out.Msg = fmt.Sprintf("no answer from %s%s%s", host, in, via)
		}
		fix += fmt.Sprintf("; or allow more time with --timeout or %s", TimeoutEnv)
	case errors.Is(err, context.Canceled):
		return nil // the user stopped it: not the network's fault
	case errors.Is(err, syscall.ECONNREFUSED):
		if isProxyOp {
			out.Msg = fmt.Sprintf("could not connect to proxy %s: connection refused", proxy)
		} else {
			out.Msg = fmt.Sprintf("could not connect to %s: connection refused%s", host, via)
		}
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		if isProxyOp {
			out.Msg = fmt.Sprintf("proxy %s reset the connection to %s", proxy, host)
		} else {
			out.Msg = fmt.Sprintf("%s reset the connection%s", host, via)
		}
	case errors.As(err, &dns):
		out.Msg = fmt.Sprintf("could not resolve %s%s", dns.Name, via)
		fix = "check the host name and DNS (or the endpoint override, AWS_ENDPOINT_URL_*)"
	case errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid):
		out.Msg = fmt.Sprintf("could not verify the TLS certificate of %s%s: %s", host, via, lastPart(err))
		fix = "behind a TLS-intercepting proxy, point SSL_CERT_FILE (or AWS_CA_BUNDLE) at its CA"
	case isProxyOp:
		out.Msg = fmt.Sprintf("proxy %s refused the tunnel to %s: %s", proxy, host, lastPart(err))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		out.Msg = fmt.Sprintf("%s closed the connection without an answer%s", host, via)
	case ue != nil:
		out.Msg = fmt.Sprintf("could not reach %s%s: %s", host, via, lastPart(err))
	default:
		return nil
	}
	out.Fix = fix
	return out
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.As(e, &t) && t.Timeout() {
			return true
		}
		if strings.Contains(e.Error(), "timeout awaiting response headers") {
			return true
		}
	}
	return false
}

// lastPart is the innermost message of err's chain, without the Go
// plumbing around it ("Post \"https://…\": proxyconnect tcp: Forbidden" →
// "Forbidden").
func lastPart(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return text.OneLine(err.Error())
}

func trimPort(host string) string {
	h, p, err := net.SplitHostPort(host)
	if err != nil || p == "443" || p == "80" {
		if err == nil {
			return h
		}
		return host
	}
	return host
}

// HTTPStatus describes a service that answered a server error (5xx) after
// the retries: the network path works, the service does not.
func HTTPStatus(ctx context.Context, status int, err error) *NetError {
	host, proxy := last(ctx)
	if host == "" {
		host = "the endpoint"
	}
	host = trimPort(host)
	return &NetError{Msg: fmt.Sprintf("%s answered HTTP %d%s", host, status, where(proxy)), Host: host, Proxy: proxy, Err: err,
		Fix: "the service is failing; retry in a moment"}
}

// Garbled describes an answer that is not what the service sends: a captive
// portal, a proxy's error page, a wrong endpoint override.
func Garbled(ctx context.Context, service string, err error) *NetError {
	host, proxy := last(ctx)
	if host == "" {
		host = "the endpoint"
	}
	host = trimPort(host)
	return &NetError{Msg: fmt.Sprintf("%s sent an answer that is not %s's%s", host, service, where(proxy)), Host: host, Proxy: proxy, Err: err,
		Fix: "check AWS_ENDPOINT_URL_* and the proxy: something else answered"}
}

// Explain turns an error that only says the budget ran out ("context
// deadline exceeded", from a layer that does not name its endpoint) into
// a NetError naming the last endpoint ctx's budget saw; other errors pass.
func Explain(ctx context.Context, err error) error {
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ne *NetError
	var h interface{ Hint() string }
	if errors.As(err, &ne) || errors.As(err, &h) {
		return err
	}
	if d := Describe(ctx, err); d != nil {
		return d
	}
	return err
}
