package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/fsafe"
	"github.com/kubeiam/kubeiam/internal/hint"
)

// LoginOptions say how to sign in.
type LoginOptions struct {
	// DeviceCode uses the device authorization flow (always for legacy
	// profiles): a code to confirm on any device, no loopback port.
	DeviceCode bool
	// NoBrowser only prints the URL.
	NoBrowser bool
	// Out receives the URL to open and the code to confirm (stderr: never
	// stdout, which may carry an ExecCredential).
	Out io.Writer
	// OpenBrowser opens a URL; nil is the platform's opener ($BROWSER when
	// set, else xdg-open, open or rundll32).
	OpenBrowser func(url string) error
}

// Grant types, as RegisterClient and CreateToken name them.
const (
	grantAuthCode     = "authorization_code"
	grantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefreshToken = "refresh_token"
)

// clientName is what the identity provider shows for kubeiam's clients.
const clientName = "kubeiam"

// Login signs in to the session: it reuses a client registration cached by
// an earlier sign-in until it expires (as the AWS CLI does), else registers
// one; runs the authorization code flow with PKCE, or the device flow; and
// writes the token file.
func (c *Client) Login(ctx context.Context, o LoginOptions) (*Token, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.OpenBrowser == nil {
		o.OpenBrowser = OpenBrowser
	}
	device := o.DeviceCode || c.s.Legacy()
	reg, err := c.registration(ctx, device)
	if err != nil {
		return nil, err
	}
	var out *ssooidc.CreateTokenOutput
	if device {
		out, err = c.deviceFlow(ctx, reg, o)
	} else {
		out, err = c.pkceFlow(ctx, reg, o)
	}
	if errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("sign-in to %s cancelled", c.s)
	}
	if err != nil {
		return nil, err
	}
	t, rerr := c.s.ReadToken()
	if rerr != nil {
		t = new(Token) // nothing to keep from a missing or unusable file
	}
	t.RefreshToken = ""
	t.ClientID, t.ClientSecret, t.RegistrationExpiresAt = reg.ClientID, reg.ClientSecret, reg.ExpiresAt
	t.Region, t.StartURL = c.s.Region, c.s.StartURL
	c.apply(t, out)
	if err := c.s.WriteToken(t); err != nil {
		return nil, err
	}
	return t, nil
}

// registration is a client registered with the OIDC service.
type registration struct {
	ClientID     string    `json:"clientId"`
	ClientSecret string    `json:"clientSecret"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

// registrationRequest is everything that makes two registrations
// interchangeable; its hash names the cached one.
type registrationRequest struct {
	StartURL   string   `json:"startUrl"`
	Region     string   `json:"region"`
	Scopes     []string `json:"scopes"`
	GrantTypes []string `json:"grantTypes"`
}

func (c *Client) registrationRequest(device bool) registrationRequest {
	r := registrationRequest{StartURL: c.s.StartURL, Region: c.s.Region, Scopes: c.s.Scopes}
	switch {
	case c.s.Legacy():
		// What the AWS CLI registers for a legacy profile: no scopes and no
		// grant types, so no refresh token is issued.
	case device:
		r.GrantTypes = []string{grantDeviceCode, grantRefreshToken}
	default:
		r.GrantTypes = []string{grantAuthCode, grantRefreshToken}
	}
	return r
}

// registrationFile is where a registration is cached: kubeiam's cache
// directory, keyed by the request; "" when the directory cannot be used.
func registrationFile(r registrationRequest) string {
	dir, err := cache.PrivateDir()
	if err != nil {
		return ""
	}
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return filepath.Join(dir, "sso-registration-"+hex.EncodeToString(sum[:16])+".json")
}

// registration returns a cached registration that is valid for an hour
// more, or registers a new client and caches it.
func (c *Client) registration(ctx context.Context, device bool) (registration, error) {
	req := c.registrationRequest(device)
	file := registrationFile(req)
	var reg registration
	if file != "" {
		if b, err := fsafe.ReadFile(file, fsafe.SmallFile, fsafe.Owned|fsafe.Private); err == nil && json.Unmarshal(b, &reg) == nil &&
			reg.ClientID != "" && reg.ClientSecret != "" && reg.ExpiresAt.Sub(c.now()) > time.Hour {
			return reg, nil
		}
	}
	in := &ssooidc.RegisterClientInput{ClientName: aws.String(clientName), ClientType: aws.String("public"), Scopes: req.Scopes, GrantTypes: req.GrantTypes}
	if !device && !c.s.Legacy() {
		in.IssuerUrl = aws.String(c.s.StartURL)
		in.RedirectUris = []string{"http://127.0.0.1/oauth/callback"}
	}
	out, err := c.oidc.RegisterClient(ctx, in)
	if err != nil {
		return registration{}, fmt.Errorf("could not register kubeiam with the identity provider of %s: %w", c.s, err)
	}
	reg = registration{ClientID: aws.ToString(out.ClientId), ClientSecret: aws.ToString(out.ClientSecret), ExpiresAt: time.Unix(out.ClientSecretExpiresAt, 0)}
	if file != "" {
		if b, err := json.Marshal(reg); err == nil {
			_ = fsafe.WriteFile(file, b, 0o600) // only a cache: the next sign-in registers again
		}
	}
	return reg, nil
}

// pkceFlow is the authorization code flow with PKCE: the browser signs in
// at the OIDC /authorize page, which redirects to a one-shot listener on
// 127.0.0.1 with the code.
func (c *Client) pkceFlow(ctx context.Context, reg registration, o LoginOptions) (*ssooidc.CreateTokenOutput, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, hint.With(fmt.Errorf("could not listen on a loopback port for the sign-in: %w", err), "use --use-device-code")
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/oauth/callback", ln.Addr().(*net.TCPAddr).Port)
	verifier, state := randomString(64), randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {reg.ClientID},
		"redirect_uri":          {redirect},
		"state":                 {state},
		"code_challenge_method": {"S256"},
		"scopes":                {strings.Join(c.s.Scopes, " ")},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
	}
	authorize := strings.TrimSuffix(c.oidcURL, "/") + "/authorize?" + q.Encode()

	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/callback" {
			http.NotFound(w, r)
			return
		}
		// One answer per sign-in: the browser need not keep the
		// connection.
		w.Header().Set("Connection", "close")
		p := r.URL.Query()
		var res result
		switch {
		case p.Get("state") != state:
			// Not the answer to this sign-in (a stale tab, or a forged link).
			http.Error(w, "kubeiam: this sign-in link is not the current one; start again", http.StatusBadRequest)
			return
		case p.Get("error") != "":
			res.err = fmt.Errorf("sign-in to %s was refused: %s", c.s, strings.TrimSpace(p.Get("error")+" "+p.Get("error_description")))
			fmt.Fprintln(w, "kubeiam: sign-in refused. You can close this window.")
		case p.Get("code") == "":
			http.Error(w, "kubeiam: no authorization code", http.StatusBadRequest)
			return
		default:
			res.code = p.Get("code")
			fmt.Fprintln(w, "kubeiam: signed in. You can close this window.")
		}
		// The page reaches the browser before the sign-in goes on (and
		// the listener closes).
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case done <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Let the answer to the browser finish, briefly; then close.
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
	}()

	c.announce(o, authorize, "")
	var res result
	timeout := time.NewTimer(c.browserTimeout)
	defer timeout.Stop()
	select {
	case res = <-done:
	case <-timeout.C:
		return nil, c.expired()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.err != nil {
		return nil, res.err
	}
	out, err := c.oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
		GrantType: aws.String(grantAuthCode), Code: aws.String(res.code),
		CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect),
	})
	if err != nil {
		return nil, c.flowError(err)
	}
	return out, nil
}

// announce prints what to open (and the code to confirm) and opens it.
func (c *Client) announce(o LoginOptions, link, userCode string) {
	if userCode != "" {
		fmt.Fprintf(o.Out, "To sign in to %s, open this URL and confirm the code %s:\n  %s\n", c.s, userCode, link)
	} else {
		fmt.Fprintf(o.Out, "To sign in to %s, open this URL in a browser on this machine:\n  %s\n", c.s, link)
	}
	if o.NoBrowser {
		return
	}
	if err := o.OpenBrowser(link); err != nil {
		fmt.Fprintf(o.Out, "(could not open a browser: %v)\n", err)
	} else {
		fmt.Fprintln(o.Out, "Waiting for the browser to finish signing in...")
	}
}

// slowDownStep is what RFC 8628 adds to the polling interval on slow_down.
const slowDownStep = 5 * time.Second

// deviceFlow is the device authorization flow: a URL and code to confirm in
// any browser, while CreateToken is polled.
func (c *Client) deviceFlow(ctx context.Context, reg registration, o LoginOptions) (*ssooidc.CreateTokenOutput, error) {
	da, err := c.oidc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), StartUrl: aws.String(c.s.StartURL),
	})
	if err != nil {
		return nil, fmt.Errorf("could not start the sign-in to %s: %w", c.s, err)
	}
	link := aws.ToString(da.VerificationUriComplete)
	if link == "" {
		link = aws.ToString(da.VerificationUri)
	}
	c.announce(o, link, aws.ToString(da.UserCode))
	interval := max(time.Duration(da.Interval)*time.Second, time.Second)
	deadline := c.now().Add(time.Duration(da.ExpiresIn) * time.Second)
	for {
		if err := c.wait(ctx, interval); err != nil {
			return nil, err
		}
		out, err := c.oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
			ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
			GrantType: aws.String(grantDeviceCode), DeviceCode: da.DeviceCode,
		})
		var pending *oidctypes.AuthorizationPendingException
		var slow *oidctypes.SlowDownException
		switch {
		case err == nil:
			return out, nil
		case errors.As(err, &slow):
			interval += slowDownStep
		case !errors.As(err, &pending):
			return nil, c.flowError(err)
		}
		if da.ExpiresIn > 0 && c.now().After(deadline) {
			return nil, c.expired()
		}
	}
}

func (c *Client) expired() error {
	return hint.With(fmt.Errorf("the sign-in to %s was not confirmed in time", c.s), "sign in again and confirm the code sooner")
}

// flowError words the answers that end a sign-in.
func (c *Client) flowError(err error) error {
	var expired *oidctypes.ExpiredTokenException
	var denied *oidctypes.AccessDeniedException
	var grant *oidctypes.InvalidGrantException
	switch {
	case errors.As(err, &expired):
		return c.expired()
	case errors.As(err, &denied):
		return fmt.Errorf("sign-in to %s was denied", c.s)
	case errors.As(err, &grant):
		return hint.With(fmt.Errorf("the identity provider refused the sign-in to %s (invalid grant)", c.s), "sign in again")
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("could not sign in to %s: %w", c.s, err)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// OpenBrowser opens url the way gh and git do: with $BROWSER when set (a
// command line; the URL is its last argument), else the platform's opener.
// It does not wait for the browser.
func OpenBrowser(url string) error {
	var argv []string
	switch b := strings.Fields(os.Getenv("BROWSER")); {
	case len(b) > 0:
		argv = append(b, url)
	case runtime.GOOS == "darwin":
		argv = []string{"open", url}
	case runtime.GOOS == "windows":
		argv = []string{"rundll32", "url.dll,FileProtocolHandler", url}
	default:
		argv = []string{"xdg-open", url}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
