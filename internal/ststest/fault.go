package ststest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is how a Faulty endpoint treats every request: the ways a network
// or a service fails that kubeiam must turn into one line within its
// budget.
type Fault string

const (
	// Hang accepts the connection, reads the request, never answers.
	Hang Fault = "hang"
	// Slow answers through Next after Delay.
	Slow Fault = "slow"
	// Reset closes the connection with a TCP reset after reading the
	// request (through the proxy: the tunnel closes).
	Reset Fault = "reset"
	// Status500 answers HTTP 500 with a body that is no service's.
	Status500 Fault = "500"
	// Throttle answers what a throttling AWS service answers: STS's
	// Throttling (HTTP 400, XML) for form requests, else HTTP 429
	// TooManyRequestsException (JSON).
	Throttle Fault = "throttle"
	// Garbage answers HTTP 200 with a body no AWS client can read.
	Garbage Fault = "garbage"
	// Expired answers an STS credential action (AssumeRole, web identity)
	// with credentials that expired an hour ago.
	Expired Fault = "expired"
	// StallHeaders sends the response headers, then nothing.
	StallHeaders Fault = "stall-headers"
	// StallBody sends the headers and half the body, then nothing.
	StallBody Fault = "stall-body"
	// Refused is a port nobody listens on.
	Refused Fault = "refused"
	// Pass hands every request to Next: a working endpoint, until
	// SetFault breaks it.
	Pass Fault = "pass"
)

// Faults lists every Fault, for tables of cases.
var Faults = []Fault{Hang, Slow, Reset, Status500, Throttle, Garbage, Expired, StallHeaders, StallBody, Refused}

// Faulty is an endpoint that fails in one way, on loopback: plain HTTP at
// URL (for AWS_ENDPOINT_URL_*), and through its own intercepting proxy at
// ProxyURL under any real host name (for HTTPS_PROXY + SSL_CERT_FILE with
// the CA of the proxy).
type Faulty struct {
	Fault Fault
	// URL is http://127.0.0.1:PORT; for Refused a port that was just closed.
	URL string
	// ProxyURL is the intercepting proxy's address; for Refused, a closed
	// port too (the proxy itself refuses).
	ProxyURL string
	// Delay is Slow's wait.
	Delay time.Duration
	// Next answers Slow's requests after Delay (nil: HTTP 200, empty).
	Next http.Handler

	mu       sync.Mutex
	fault    Fault
	requests int
	hs       *http.Server
	ln       net.Listener
	px       *Proxy
	done     chan struct{}
}

// NewFaulty starts an endpoint failing with f; ca signs the proxy's
// certificates (nil: no proxy). Close it when done.
func NewFaulty(f Fault, ca *CA, next http.Handler, delay time.Duration) (*Faulty, error) {
	fy := &Faulty{Fault: f, fault: f, Delay: delay, Next: next, done: make(chan struct{})}
	if f == Refused {
		fy.URL, fy.ProxyURL = "http://"+closedPort(), "http://"+closedPort()
		return fy, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("could not listen: %w", err)
	}
	fy.ln = ln
	fy.URL = "http://" + ln.Addr().String()
	fy.hs = &http.Server{Handler: fy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = fy.hs.Serve(ln) }()
	if ca != nil {
		px, err := NewProxy(ca, fy, ProxyOptions{Allow: func(string) bool { return true }})
		if err != nil {
			fy.Close()
			return nil, err
		}
		fy.px = px
		fy.ProxyURL = px.URL.String()
	}
	return fy, nil
}

// closedPort is a loopback address nothing listens on (bound, then closed).
func closedPort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:9"
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Requests is how many requests reached the endpoint (either way) since
// it started or since SetFault.
func (fy *Faulty) Requests() int {
	fy.mu.Lock()
	defer fy.mu.Unlock()
	return fy.requests
}

// SetFault changes how the endpoint fails from now on and resets Requests.
// (Not for Refused, which has no listener.)
func (fy *Faulty) SetFault(f Fault) {
	fy.mu.Lock()
	defer fy.mu.Unlock()
	fy.fault, fy.requests = f, 0
}

// Close stops the endpoint and ends every hanging connection.
func (fy *Faulty) Close() {
	select {
	case <-fy.done:
		return
	default:
	}
	close(fy.done)
	if fy.hs != nil {
		_ = fy.hs.Close()
	}
	if fy.px != nil {
		_ = fy.px.Close()
	}
}

func (fy *Faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fy.mu.Lock()
	fy.requests++
	fault := fy.fault
	fy.mu.Unlock()
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	switch fault {
	case Pass:
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		fy.Next.ServeHTTP(w, r)
	case Hang:
		fy.hold(r)
	case Slow:
		select {
		case <-time.After(fy.Delay):
		case <-r.Context().Done():
			return
		case <-fy.done:
			return
		}
		if fy.Next == nil {
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		fy.Next.ServeHTTP(w, r)
	case Reset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		c, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST
		}
		c.Close()
	case Status500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<html><body><h1>500 Internal Server Error</h1></body></html>\n")
	case Throttle:
		if form {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"message":"Rate exceeded"}`)
	case Garbage:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "\x00\x01<<not an AWS answer>>{{{\n")
	case Expired:
		q, _ := url.ParseQuery(string(body))
		action := q.Get("Action")
		if action == "" {
			action = "AssumeRole"
		}
		w.Header().Set("Content-Type", "text/xml")
		exp := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, `<%[1]sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%[1]sResult><AssumedRoleUser><Arn>arn:aws:sts::%[2]s:assumed-role/KubeAdmin/expired</Arn><AssumedRoleId>AROAKUBEADMIN00000001:expired</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>ASIAEXPIRED000000001</AccessKeyId><SecretAccessKey>expiredSecret</SecretAccessKey><SessionToken>expiredSessionToken</SessionToken><Expiration>%[3]s</Expiration></Credentials></%[1]sResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId></ResponseMetadata></%[1]sResponse>`,
			action, AccountA, exp)
	case StallHeaders:
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		fy.hold(r)
	case StallBody:
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, strings.Repeat("x", 500))
		w.(http.Flusher).Flush()
		fy.hold(r)
	}
}

// hold keeps the connection open, silent, until the client goes or the
// endpoint closes.
func (fy *Faulty) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-fy.done:
	}
}
