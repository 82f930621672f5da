package sso

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

// testConfig has one profile of each kind Resolve must tell apart.
const testConfig = `
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access, codewhisperer:completions

[sso-session plain]
sso_start_url = https://plain.awsapps.com/start
sso_region = eu-west-1

[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = KubeAdmin
region = us-west-2

[profile viewer]
sso_session = plain
sso_account_id = 444455556666
sso_role_name = KubeViewer

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-2
sso_account_id = 111122223333
sso_role_name = KubeAdmin

[profile admin]
role_arn = arn:aws:iam::111122223333:role/teams/platform/Deployer
source_profile = dev

[profile static]
aws_access_key_id = AKIAALICE00000000001
aws_secret_access_key = aliceSecretKey0000000000000000000000000001

[profile nosection]
sso_session = missing

[profile partial]
sso_session = partial

[sso-session partial]
sso_start_url = https://partial.awsapps.com/start

[profile mixed]
sso_session = corp
sso_start_url = https://other.awsapps.com/start

[profile legacy-noregion]
sso_start_url = https://legacy.awsapps.com/start
sso_account_id = 111122223333
sso_role_name = KubeAdmin
`

// setup gives the test a home, an AWS config with testConfig, a cache
// directory and the SSO stand-in behind the SDK's endpoint variables.
func setup(t *testing.T) *ststest.Rig {
	t.Helper()
	dir := t.TempDir()
	rig := ststest.Start(t, ststest.Options{})
	for k, v := range map[string]string{
		"HOME": dir, "AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"XDG_CACHE_HOME": filepath.Join(dir, "cache"), "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_SSO_OIDC": rig.SSOEndpoint, "AWS_ENDPOINT_URL_SSO": rig.SSOEndpoint, "BROWSER": "",
	} {
		t.Setenv(k, v)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return rig
}

func TestResolve(t *testing.T) {
	setup(t)
	corp := &Session{Name: "corp", StartURL: "https://corp.awsapps.com/start", Region: "us-east-1",
		Scopes: []string{"sso:account:access", "codewhisperer:completions"}, AccountID: "111122223333", RoleName: "KubeAdmin"}
	for _, tc := range []struct {
		profile string
		want    *Session
		err     string
	}{
		{profile: "dev", want: withProfile(corp, "dev")},
		{profile: "admin", want: withProfile(corp, "admin")}, // role profile on an SSO source
		{profile: "viewer", want: &Session{Name: "plain", StartURL: "https://plain.awsapps.com/start", Region: "eu-west-1", Scopes: DefaultScopes,
			Profile: "viewer", AccountID: "444455556666", RoleName: "KubeViewer"}},
		{profile: "legacy", want: &Session{StartURL: "https://legacy.awsapps.com/start", Region: "us-east-2", Profile: "legacy",
			AccountID: "111122223333", RoleName: "KubeAdmin"}},
		{profile: "static"},
		{profile: "", want: nil}, // no default profile: nothing to sign in to
		{profile: "nosection", err: `profile "nosection" uses sso_session missing, but ` + os.Getenv("AWS_CONFIG_FILE") + ` has no [sso-session missing] section`},
		{profile: "partial", err: "[sso-session partial] in " + os.Getenv("AWS_CONFIG_FILE") + " has no sso_region"},
		{profile: "mixed", err: `profile "mixed" sets sso_start_url https://other.awsapps.com/start, but its [sso-session corp] says https://corp.awsapps.com/start`},
		{profile: "legacy-noregion", err: `profile "legacy-noregion" in ` + os.Getenv("AWS_CONFIG_FILE") + ` uses SSO but has no sso_region`},
		{profile: "nope", err: `profile "nope" is not in`},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			got, err := Resolve(tc.profile)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("Resolve(%q) = %v, %v; want one-line error %q", tc.profile, got, err, tc.err)
				}
				var h *hint.Error
				if !errors.As(err, &h) || h.Fix == "" {
					t.Errorf("error %q names no fix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalSession(got, tc.want) {
				t.Errorf("Resolve(%q) = %+v, want %+v", tc.profile, got, tc.want)
			}
		})
	}
	t.Run("AWS_PROFILE", func(t *testing.T) {
		t.Setenv("AWS_PROFILE", "dev")
		got, err := Resolve("")
		if err != nil || !equalSession(got, withProfile(corp, "dev")) {
			t.Errorf("Resolve(\"\") with AWS_PROFILE=dev = %+v, %v", got, err)
		}
	})
	t.Run("by name", func(t *testing.T) {
		got, err := ResolveSession("corp")
		if err != nil || !equalSession(got, &Session{Name: corp.Name, StartURL: corp.StartURL, Region: corp.Region, Scopes: corp.Scopes}) {
			t.Errorf("ResolveSession(corp) = %+v, %v", got, err)
		}
		if _, err := ResolveSession("nope"); err == nil || !strings.Contains(err.Error(), "has no [sso-session nope] section") {
			t.Errorf("ResolveSession(nope): %v", err)
		}
	})
}

func withProfile(s *Session, p string) *Session {
	c := *s
	c.Profile = p
	return &c
}

func equalSession(a, b *Session) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Name == b.Name && a.StartURL == b.StartURL && a.Region == b.Region && strings.Join(a.Scopes, ",") == strings.Join(b.Scopes, ",") &&
		a.Profile == b.Profile && a.AccountID == b.AccountID && a.RoleName == b.RoleName
}

func TestTokenFile(t *testing.T) {
	setup(t)
	s, _ := ResolveSession("corp")
	path, err := s.TokenFile()
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's and the AWS CLI's name: sha1 of the session name
	// (`printf corp | sha1sum`).
	if want := filepath.Join(os.Getenv("HOME"), ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json"); path != want {
		t.Errorf("token file %s, want %s", path, want)
	}
	if _, err := s.ReadToken(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no file: %v, want fs.ErrNotExist", err)
	}
	// A file as the AWS CLI writes it, with a field kubeiam does not know.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	cli := `{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "aoa-1", "expiresAt": "2026-12-02T08:00:00Z",` +
		` "clientId": "cid", "clientSecret": "sec", "registrationExpiresAt": "2027-03-01T08:00:00Z", "refreshToken": "rt-1", "futureField": {"a": [1, 2]}}`
	if err := os.WriteFile(path, []byte(cli), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := s.ReadToken()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "aoa-1" || tok.RefreshToken != "rt-1" || !tok.ExpiresAt.Equal(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)) ||
		!tok.RegistrationExpiresAt.Equal(time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)) || tok.ClientID != "cid" {
		t.Fatalf("read %+v", tok)
	}
	tok.AccessToken = "aoa-2"
	if err := s.WriteToken(tok); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	var back map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["accessToken"] != "aoa-2" || back["expiresAt"] != "2026-12-02T08:00:00Z" || back["futureField"] == nil || back["startUrl"] != "https://corp.awsapps.com/start" {
		t.Errorf("rewritten file lost or changed fields: %s", b)
	}

	// Files that cannot be trusted or read: one line naming the file.
	for name, prepare := range map[string]func() error{
		"corrupt": func() error { return os.WriteFile(path, []byte(`{"accessToken": `), 0o600) },
		"bad time": func() error {
			return os.WriteFile(path, []byte(`{"accessToken": "x", "expiresAt": "tomorrow"}`), 0o600)
		},
		"symlink": func() error {
			other := filepath.Join(t.TempDir(), "elsewhere.json")
			if err := os.WriteFile(other, []byte(cli), 0o600); err != nil {
				return err
			}
			return os.Symlink(other, path)
		},
		"fifo": func() error { return mkfifo(path) },
	} {
		t.Run(name, func(t *testing.T) {
			os.Remove(path)
			if err := prepare(); err != nil {
				t.Skip(err)
			}
			done := make(chan error, 1)
			go func() { _, err := s.ReadToken(); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
					t.Errorf("ReadToken: %v; want one line naming %s", err, path)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ReadToken blocked")
			}
		})
	}
}

// TestReadTokenLooseMode: a token file of the user that others can read (an
// older tool's, or a copy) is what the AWS SDK uses as it is: kubeiam reads
// it too, and makes it private.
func TestReadTokenLooseMode(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	s := &Session{Name: "corp", StartURL: "https://corp.awsapps.com/start", Region: "us-east-1"}
	path, err := s.TokenFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"accessToken":"aoa-1","expiresAt":"2026-12-02T08:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := s.ReadToken()
	if err != nil || tok.AccessToken != "aoa-1" {
		t.Fatalf("ReadToken = %+v, %v", tok, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after reading: %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestState(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	renewable := Token{AccessToken: "a", ExpiresAt: now.Add(time.Minute), RefreshToken: "r", ClientID: "c", ClientSecret: "s", RegistrationExpiresAt: now.Add(time.Hour)}
	for _, tc := range []struct {
		name string
		tok  *Token
		want State
	}{
		{"nil", nil, NeedsLogin},
		{"fresh", &Token{AccessToken: "a", ExpiresAt: now.Add(RenewBefore + time.Second)}, Valid},
		{"near expiry, no refresh token", &Token{AccessToken: "a", ExpiresAt: now.Add(RenewBefore)}, NeedsLogin},
		{"near expiry, refresh token", &renewable, Renewable},
		{"registration expired", func() *Token { c := renewable; c.RegistrationExpiresAt = now; return &c }(), NeedsLogin},
		{"no client secret", func() *Token { c := renewable; c.ClientSecret = ""; return &c }(), NeedsLogin},
	} {
		if got := tc.tok.State(now); got != tc.want {
			t.Errorf("%s: State = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// browser follows a URL as a person's browser would: GET, following the
// /authorize redirect to kubeiam's loopback listener.
type browser struct {
	t      *testing.T
	mu     sync.Mutex
	opened []string
}

func (b *browser) open(u string) error {
	b.mu.Lock()
	b.opened = append(b.opened, u)
	b.mu.Unlock()
	go func() {
		resp, err := http.Get(u)
		if err != nil {
			b.t.Errorf("browser: %v", err)
			return
		}
		resp.Body.Close()
	}()
	return nil
}

// newClient returns a client whose device-flow waits are recorded, not slept.
func newClient(t *testing.T, s *Session) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := NewClient(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.wait = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return c, &waits
}

// whoami asks the STS stand-in who the role credentials are.
func whoami(t *testing.T, rig *ststest.Rig, creds aws.Credentials) string {
	t.Helper()
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(rig.Endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })})
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

func TestLoginPKCE(t *testing.T) {
	rig := setup(t)
	s, err := Resolve("dev")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, s)
	b := &browser{t: t}
	var out bytes.Buffer
	tok, err := c.Login(context.Background(), LoginOptions{Out: &out, OpenBrowser: b.open})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(b.opened) != 1 || !strings.HasPrefix(b.opened[0], rig.SSOEndpoint+"/authorize?") || !strings.Contains(out.String(), b.opened[0]) {
		t.Fatalf("opened %q; printed %q", b.opened, out.String())
	}
	for _, p := range []string{"response_type=code", "code_challenge_method=S256", "redirect_uri=http%3A%2F%2F127.0.0.1%3A", "scopes=sso%3Aaccount%3Aaccess+codewhisperer%3Acompletions"} {
		if !strings.Contains(b.opened[0], p) {
			t.Errorf("authorize URL %s lacks %s", b.opened[0], p)
		}
	}
	if tok.State(time.Now()) != Valid || tok.RefreshToken == "" || tok.StartURL != s.StartURL || tok.Region != "us-east-1" {
		t.Errorf("token %+v", tok)
	}
	onDisk, err := s.ReadToken()
	if err != nil || onDisk.AccessToken != tok.AccessToken {
		t.Fatalf("token file: %+v, %v", onDisk, err)
	}
	creds, err := c.RoleCredentials(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := whoami(t, rig, creds), "arn:aws:sts::111122223333:assumed-role/KubeAdmin/"+ststest.SSOUser; got != want {
		t.Errorf("role credentials are %s, want %s", got, want)
	}

	// A second sign-in reuses the registration.
	if _, err := c.Login(context.Background(), LoginOptions{OpenBrowser: b.open}); err != nil {
		t.Fatal(err)
	}
	if n := rig.SSO.Count("RegisterClient"); n != 1 {
		t.Errorf("RegisterClient called %d times for two sign-ins, want 1", n)
	}
	if n := rig.SSO.Count("CreateToken"); n != 2 {
		t.Errorf("CreateToken called %d times, want 2", n)
	}
	// One expiring within the hour is replaced.
	c.now = func() time.Time { return time.Now().Add(90*24*time.Hour - 30*time.Minute) }
	if _, err := c.registration(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n := rig.SSO.Count("RegisterClient"); n != 2 {
		t.Errorf("RegisterClient called %d times after the registration neared its end, want 2", n)
	}
}

func TestLoginDenied(t *testing.T) {
	rig := setup(t)
	rig.SSO.SetDeny(true)
	s, _ := Resolve("dev")
	for _, device := range []bool{false, true} {
		c, _ := newClient(t, s)
		b := &browser{t: t}
		_, err := c.Login(context.Background(), LoginOptions{DeviceCode: device, OpenBrowser: b.open})
		if err == nil || !strings.Contains(err.Error(), `sign-in to SSO session "corp" was`) {
			t.Errorf("device=%v: %v, want a refusal", device, err)
		}
	}
	if _, err := s.ReadToken(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused sign-in left a token file: %v", err)
	}
}

func TestLoginDevice(t *testing.T) {
	rig := setup(t)
	rig.SSO.SlowDownNext(2)
	s, _ := Resolve("viewer")
	c, waits := newClient(t, s)
	var out bytes.Buffer
	// The person confirms the code only after kubeiam has polled a few times.
	var link string
	c.wait = func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		if len(*waits) == 4 {
			resp, err := http.Get(link)
			if err != nil {
				return err
			}
			resp.Body.Close()
		}
		return nil
	}
	tok, err := c.Login(context.Background(), LoginOptions{DeviceCode: true, Out: &out, OpenBrowser: func(u string) error { link = u; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	// slow_down twice (+5 s each), then authorization_pending once, then the token.
	want := []time.Duration{time.Second, 6 * time.Second, 11 * time.Second, 11 * time.Second}
	if len(*waits) != len(want) || (*waits)[1] != want[1] || (*waits)[3] != want[3] {
		t.Errorf("waits %v, want %v", *waits, want)
	}
	if !strings.Contains(out.String(), "confirm the code ") || !strings.Contains(out.String(), link) || tok.RefreshToken == "" {
		t.Errorf("printed %q; token %+v", out.String(), tok)
	}
	creds, err := c.RoleCredentials(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got := whoami(t, rig, creds); got != "arn:aws:sts::444455556666:assumed-role/KubeViewer/"+ststest.SSOUser {
		t.Errorf("whoami %s", got)
	}
}

func TestLoginLegacyUsesDeviceFlow(t *testing.T) {
	rig := setup(t)
	s, _ := Resolve("legacy")
	c, _ := newClient(t, s)
	b := &browser{t: t}
	// The device flow's poll interval, shortened: the pause between polls
	// is the behaviour under test, not a wait for something.
	c.wait = func(ctx context.Context, d time.Duration) error { time.Sleep(10 * time.Millisecond); return nil }
	tok, err := c.Login(context.Background(), LoginOptions{OpenBrowser: b.open})
	if err != nil {
		t.Fatal(err)
	}
	if rig.SSO.Count("StartDeviceAuthorization") != 1 || rig.SSO.Count("Authorize") != 0 {
		t.Errorf("legacy profile did not use the device flow")
	}
	if tok.RefreshToken != "" {
		t.Errorf("legacy registration got a refresh token")
	}
	// Named by the start URL (`printf https://legacy.awsapps.com/start | sha1sum`).
	if path := must(s.TokenFile()); filepath.Base(path) != "79e435d7a515078e81c9dffc35f38d5687ebd3a7.json" {
		t.Errorf("legacy token file %s", path)
	}
	if _, err := s.ReadToken(); err != nil {
		t.Error(err)
	}
}

func TestLoginCancelled(t *testing.T) {
	setup(t)
	s, _ := Resolve("dev")
	c, _ := newClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	c.wait = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	_, err := c.Login(ctx, LoginOptions{DeviceCode: true, NoBrowser: true})
	if err == nil || err.Error() != `sign-in to SSO session "corp" cancelled` {
		t.Errorf("cancelled device flow: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	_, err = c.Login(ctx, LoginOptions{OpenBrowser: func(string) error { cancel(); return nil }})
	if err == nil || err.Error() != `sign-in to SSO session "corp" cancelled` {
		t.Errorf("cancelled PKCE flow: %v", err)
	}
}

// signedIn signs in to profile's session with the PKCE flow.
func signedIn(t *testing.T, profile string) (*ststest.Rig, *Session, *Client, *Token) {
	t.Helper()
	rig := setup(t)
	s, err := Resolve(profile)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, s)
	tok, err := c.Login(context.Background(), LoginOptions{OpenBrowser: (&browser{t: t}).open})
	if err != nil {
		t.Fatal(err)
	}
	return rig, s, c, tok
}

// With --no-browser nothing is opened; the printed URL is all a person
// needs, on this machine (PKCE) or any other (device flow). A sign-in
// nobody completes ends with one line.
func TestLoginNoBrowser(t *testing.T) {
	setup(t)
	s, _ := Resolve("dev")
	urlIn := func(out string) string {
		for _, f := range strings.Fields(out) {
			if strings.HasPrefix(f, "http") {
				return f
			}
		}
		return ""
	}
	opened := func(u string) error { t.Errorf("browser opened with --no-browser: %s", u); return nil }
	for _, device := range []bool{true, false} {
		c, _ := newClient(t, s)
		out := &syncBuffer{}
		go func() {
			// The person reads stderr and follows the link.
			// Polls for the link (the readiness signal), for 10 s at most.
			for end := time.Now().Add(10 * time.Second); out.Len() == 0 || urlIn(out.String()) == ""; time.Sleep(time.Millisecond) {
				if time.Now().After(end) {
					t.Error("no sign-in link on stderr after 10 s")
					return
				}
			}
			(&browser{t: t}).open(urlIn(out.String()))
		}()
		c.wait = func(ctx context.Context, d time.Duration) error { time.Sleep(5 * time.Millisecond); return nil } // the poll interval, shortened
		if _, err := c.Login(context.Background(), LoginOptions{DeviceCode: device, NoBrowser: true, Out: out, OpenBrowser: opened}); err != nil {
			t.Fatalf("device=%v: %v\n%s", device, err, out.String())
		}
	}
	c, _ := newClient(t, s)
	c.browserTimeout = 20 * time.Millisecond
	_, err := c.Login(context.Background(), LoginOptions{NoBrowser: true, OpenBrowser: opened})
	if err == nil || err.Error() != `the sign-in to SSO session "corp" was not confirmed in time` {
		t.Errorf("abandoned sign-in: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
func (s *syncBuffer) Len() int       { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Len() }

func TestRenew(t *testing.T) {
	rig, s, c, tok := signedIn(t, "dev")
	// Another tool added a field; the access token is about to expire.
	tok.SetRaw(map[string]json.RawMessage{"addedBy": json.RawMessage(`"other tool"`)})
	tok.ExpiresAt = time.Now().Add(time.Minute)
	if err := s.WriteToken(tok); err != nil {
		t.Fatal(err)
	}
	rig.SSO.ExpireAccessTokens()
	old, _ := s.ReadToken()
	if old.State(time.Now()) != Renewable {
		t.Fatalf("state %v, want renewable", old.State(time.Now()))
	}
	nt, err := c.Renew(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	if nt.AccessToken == old.AccessToken || nt.State(time.Now()) != Valid || nt.RefreshToken == old.RefreshToken {
		t.Errorf("renewed token %+v", nt)
	}
	b, _ := os.ReadFile(must(s.TokenFile()))
	if !strings.Contains(string(b), `"addedBy":"other tool"`) || !strings.Contains(string(b), nt.AccessToken) {
		t.Errorf("renewed file %s", b)
	}
	if _, err := c.RoleCredentials(context.Background(), nt); err != nil {
		t.Errorf("renewed token refused: %v", err)
	}
	// The identity provider stops renewing: a person must sign in.
	rig.SSO.SetRefresh(false)
	_, err = c.Renew(context.Background(), nt)
	var ln *LoginNeededError
	if !errors.As(err, &ln) {
		t.Errorf("refused refresh: %v, want LoginNeededError", err)
	}
}

func TestLogout(t *testing.T) {
	rig, s, c, tok := signedIn(t, "dev")
	if err := c.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadToken(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("token file after logout: %v", err)
	}
	if _, err := c.RoleCredentials(context.Background(), tok); err == nil {
		t.Error("the portal still accepts the signed-out token")
	}
	// Again, and with a token the portal no longer knows: nothing to do.
	if err := c.Logout(context.Background()); err != nil {
		t.Errorf("second logout: %v", err)
	}
	if err := s.WriteToken(tok); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(context.Background()); err != nil {
		t.Errorf("logout of a token the portal forgot: %v", err)
	}
	if n := rig.SSO.Count("Logout"); n != 2 {
		t.Errorf("Logout calls %d, want 2", n)
	}
}

func TestLock(t *testing.T) {
	setup(t)
	s, _ := ResolveSession("corp")
	unlock, err := s.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(context.Background(), 50*time.Millisecond); err == nil {
		t.Fatal("a second holder got the lock")
	}
	unlock()
	unlock2, err := s.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
	if strings.HasPrefix(must(s.TokenFile()), os.Getenv("XDG_CACHE_HOME")) {
		t.Error("token file in the cache dir")
	}
	matches, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "kubeiam", "sso-*.lock"))
	if len(matches) != 1 {
		t.Errorf("lock files %v, want one in kubeiam's cache dir", matches)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The stand-in also answers under the real host names through the rig's
// proxy (HTTPS_PROXY + SSL_CERT_FILE for a child process): the sign-in page
// is https://oidc.us-east-1.amazonaws.com/authorize, the portal
// portal.sso.us-east-1.amazonaws.com.
func TestThroughProxy(t *testing.T) {
	rig := setup(t)
	t.Setenv("AWS_ENDPOINT_URL_SSO_OIDC", "")
	t.Setenv("AWS_ENDPOINT_URL_SSO", "")
	s, _ := Resolve("dev")
	c, err := NewClient(context.Background(), s, rig.Proxy.Client())
	if err != nil {
		t.Fatal(err)
	}
	// The person's browser: the same proxy and CA, but the redirect to
	// 127.0.0.1 goes straight to kubeiam (NO_PROXY).
	pool := rig.CA.Pool()
	browserClient := &http.Client{Transport: &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Hostname() == "127.0.0.1" {
				return nil, nil
			}
			return rig.Proxy.URL, nil
		},
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
	var opened string
	tok, err := c.Login(context.Background(), LoginOptions{OpenBrowser: func(u string) error {
		opened = u
		go func() {
			resp, err := browserClient.Get(u)
			if err != nil {
				t.Errorf("browser: %v", err)
				return
			}
			resp.Body.Close()
		}()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(opened, "https://oidc.us-east-1.amazonaws.com/authorize?") {
		t.Errorf("sign-in page %s, want the real OIDC host", opened)
	}
	creds, err := c.RoleCredentials(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got := whoami(t, rig, creds); !strings.HasSuffix(got, ":assumed-role/KubeAdmin/"+ststest.SSOUser) {
		t.Errorf("whoami %s", got)
	}
	if rig.Proxy.Tunnels("oidc.us-east-1.amazonaws.com") == 0 || rig.Proxy.Tunnels("portal.sso.us-east-1.amazonaws.com") == 0 {
		t.Errorf("no tunnels to the real host names")
	}
}
