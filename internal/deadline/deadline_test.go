package deadline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/hint"
)

func TestFromEnv(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if b, err := FromEnv(getenv, Token); err != nil || b != Token {
		t.Errorf("defaults: %v %v", b, err)
	}
	env[TimeoutEnv], env[AttemptTimeoutEnv] = "20s", "5s"
	if b, err := FromEnv(getenv, Token); err != nil || b.Total != 20*time.Second || b.Attempt != 5*time.Second {
		t.Errorf("from env: %v %v", b, err)
	}
	for _, bad := range []string{"soon", "-1s", "0"} {
		env[TimeoutEnv] = bad
		if _, err := FromEnv(getenv, Token); err == nil || err.Error() != fmt.Sprintf("KUBEIAM_TIMEOUT=%q is not a positive duration like 8s or 1m", bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestDescribe: each kind of network failure is one line naming the
// endpoint (and the proxy the request went through) and what happened.
func TestDescribe(t *testing.T) {
	ctx, cancel := Start(context.Background(), Budget{Total: time.Hour})
	defer cancel()
	proxy, _ := url.Parse("http://127.0.0.1:3128")
	Note(ctx, "sts.us-west-2.amazonaws.com:443", proxy)
	ue := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://sts.us-west-2.amazonaws.com/", Err: err}
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{ue(&SilenceError{After: 3 * time.Second}), "no answer from sts.us-west-2.amazonaws.com in 0s (via proxy 127.0.0.1:3128)"},
		{ue(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), "could not connect to sts.us-west-2.amazonaws.com: connection refused (via proxy 127.0.0.1:3128)"},
		{ue(&net.OpError{Op: "proxyconnect", Net: "tcp", Err: syscall.ECONNREFUSED}), "could not connect to proxy 127.0.0.1:3128: connection refused"},
		{ue(&net.OpError{Op: "proxyconnect", Net: "tcp", Err: errors.New("Forbidden")}), "proxy 127.0.0.1:3128 refused the tunnel to sts.us-west-2.amazonaws.com: Forbidden"},
		{ue(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), "sts.us-west-2.amazonaws.com reset the connection (via proxy 127.0.0.1:3128)"},
		{ue(&net.DNSError{Name: "sts.us-west-2.amazonaws.com", Err: "no such host"}), "could not resolve sts.us-west-2.amazonaws.com (via proxy 127.0.0.1:3128)"},
	} {
		ne := Describe(ctx, c.err)
		if ne == nil || !matchesIgnoringWait(ne.Error(), c.want) {
			t.Errorf("%v:\n got %v\nwant %s", c.err, ne, c.want)
			continue
		}
		if hint.KindOf(fmt.Errorf("wrapped: %w", ne)) != hint.Network || ne.Hint() == "" {
			t.Errorf("%v: kind %v, hint %q", c.err, hint.KindOf(ne), ne.Hint())
		}
	}
	if Describe(ctx, context.Canceled) != nil || Describe(ctx, errors.New("access denied")) != nil {
		t.Error("not network failures, described as such")
	}
	// An answer cut short is the server's doing while the budget runs, the
	// budget's once it has run out.
	if ne := Describe(ctx, io.ErrUnexpectedEOF); ne == nil || !strings.Contains(ne.Error(), "closed the connection without an answer") {
		t.Errorf("EOF within the budget: %v", ne)
	}
	over, cancel2 := Start(context.Background(), Budget{Total: time.Nanosecond})
	defer cancel2()
	<-over.Done()
	Note(over, "oidc.us-east-1.amazonaws.com:443", nil)
	if ne := Describe(over, fmt.Errorf("read body: %w", io.ErrUnexpectedEOF)); ne == nil || !ne.Timeout() || !strings.HasPrefix(ne.Error(), "no answer from oidc.us-east-1.amazonaws.com in ") {
		t.Errorf("EOF after the budget ran out: %v", ne)
	}
	// The transport closed the connection mid-answer when the budget
	// ended; the SDK reports the read it could not finish.
	closed := fmt.Errorf("deserialization failed, %w", &net.OpError{Op: "set", Net: "tcp", Err: net.ErrClosed})
	if ne := Describe(over, closed); ne == nil || !ne.Timeout() {
		t.Errorf("closed connection after the budget ran out: %v", ne)
	}
	if ne := Describe(ctx, closed); ne != nil && ne.Timeout() {
		t.Errorf("closed connection within the budget told as a timeout: %v", ne)
	}
}

// matchesIgnoringWait compares "no answer … in Xs …" messages whatever X.
func matchesIgnoringWait(got, want string) bool {
	var gh, wh, gr, wr string
	if n, _ := fmt.Sscanf(got, "no answer from %s in %s", &gh, &gr); n == 2 {
		if m, _ := fmt.Sscanf(want, "no answer from %s in %s", &wh, &wr); m == 2 {
			return gh == wh
		}
	}
	return got == want
}

// TestConnSilence: a connection whose peer stops sending fails the read
// after the idle bound with a timeout, not never.
func TestConnSilence(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := Conn(a, 100*time.Millisecond)
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	var se *SilenceError
	if !errors.As(err, &se) || time.Since(start) > 2*time.Second {
		t.Fatalf("read: %v after %s", err, time.Since(start))
	}
	var tr http.RoundTripper = &http.Transport{}
	Apply(tr.(*http.Transport), time.Second)
	if tr.(*http.Transport).ResponseHeaderTimeout != time.Second {
		t.Error("Apply did not bound the headers")
	}
}
