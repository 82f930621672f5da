package ststest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SSO is a stand-in for IAM Identity Center: the SSO OIDC service (host
// oidc.<region>.amazonaws.com: RegisterClient, StartDeviceAuthorization,
// CreateToken for the device_code, authorization_code with PKCE and
// refresh_token grants, and the browser's /authorize page) and the SSO
// portal (host portal.sso.<region>.amazonaws.com: GetRoleCredentials,
// ListAccounts, ListAccountRoles, Logout). Both are REST-JSON and answer on
// the same handler, since their paths do not overlap: point
// AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO at one URL, or reach it
// through the Rig's proxy under the real host names.
//
// A person's part is played by following URLs, as a browser would: a GET
// of the device flow's verification URL approves the device code, and a GET
// of /authorize answers with a 302 to the client's loopback redirect URI
// carrying the code. Role credentials from GetRoleCredentials join the STS
// stand-in's identity table, so GetCallerIdentity answers
// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SSOUser with them.
type SSO struct {
	sts *Server

	mu       sync.Mutex
	clients  map[string]*ssoClient
	devices  map[string]*ssoDevice // by device code
	codes    map[string]*ssoCode
	access   map[string]*ssoAccess
	refresh  map[string]string // refresh token -> client ID
	counts   map[string]int
	deny     bool
	noRenew  bool
	slowDown int
	tokenTTL time.Duration
	regTTL   time.Duration
	interval int

	// accounts, when set, replaces the assignments derived from the STS
	// stand-in's roles.
	accounts []SSOAccount
	// bucket is the portal's shared throttle.
	bucket        tokenBucket
	portalLatency time.Duration
	// expireAfter, when > 0, counts down portal calls; at zero every access
	// token expires, as a session running out in the middle of a run.
	expireAfter int
	// failRoles are accounts whose ListAccountRoles always fails.
	failRoles map[string]bool
}

// SSOAccount is one account assigned to the signed-in user, with the roles
// (permission sets) the user may use in it.
type SSOAccount struct {
	ID, Name string
	Roles    []string
}

// PortalRate is the portal's throttle: IAM Identity Center's APIs share a
// limit of about 20 requests a second, answered 429 TooManyRequestsException
// above it.
const PortalRate = 20

// tokenBucket is a token bucket of capacity burst refilled at rate a
// second; rate 0 never throttles.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// SSOUser is the user that signs in; role sessions are named after it.
const SSOUser = "sso-user@example.com"

// SSODenyParam, added to the /authorize or device verification URL, makes
// the person refuse that one sign-in (a click on Deny).
const SSODenyParam = "ssotest_deny"

type ssoClient struct {
	secret     string
	grantTypes []string
	expires    time.Time
}

type ssoDevice struct {
	clientID, userCode string
	approved, denied   bool
	expires            time.Time
}

type ssoCode struct {
	clientID, redirect, challenge string
	expires                       time.Time
}

type ssoAccess struct {
	clientID string
	expires  time.Time
	revoked  bool
}

// NewSSO returns an SSO stand-in whose role credentials sts accepts. Access
// tokens last 8 hours and registrations 90 days, as in IAM Identity Center.
func NewSSO(sts *Server) *SSO {
	return &SSO{
		sts: sts, clients: map[string]*ssoClient{}, devices: map[string]*ssoDevice{}, codes: map[string]*ssoCode{},
		access: map[string]*ssoAccess{}, refresh: map[string]string{}, counts: map[string]int{},
		tokenTTL: 8 * time.Hour, regTTL: 90 * 24 * time.Hour, interval: 1,
		bucket: tokenBucket{rate: PortalRate, burst: PortalRate},
	}
}

// SetAccounts replaces the accounts and roles the user is assigned (by
// default, every role of the STS stand-in, in its account). Role
// credentials of these roles are accepted by the STS and EKS stand-ins.
func (s *SSO) SetAccounts(accounts []SSOAccount) {
	s.set(func() { s.accounts = slices.Clone(accounts) })
}

// SetPortalRate sets the portal's throttle: rate requests a second with a
// burst of as many (PortalRate by default); 0 never throttles.
func (s *SSO) SetPortalRate(rate float64) {
	s.set(func() { s.bucket = tokenBucket{rate: rate, burst: max(1, rate)} })
}

// SetPortalLatency makes every portal call wait d before it is answered.
func (s *SSO) SetPortalLatency(d time.Duration) { s.set(func() { s.portalLatency = d }) }

// FailRoles makes ListAccountRoles of account always answer 500, as a
// portal that cannot serve one account.
func (s *SSO) FailRoles(account string) {
	s.set(func() {
		if s.failRoles == nil {
			s.failRoles = map[string]bool{}
		}
		s.failRoles[account] = true
	})
}

// ExpireAfter makes every access token expire after n more portal calls.
func (s *SSO) ExpireAfter(n int) { s.set(func() { s.expireAfter = n }) }

// SetDeny makes the person refuse every later sign-in (access_denied).
func (s *SSO) SetDeny(deny bool) { s.set(func() { s.deny = deny }) }

// SetTokenLifetime sets the lifetime of access tokens issued from now on.
func (s *SSO) SetTokenLifetime(d time.Duration) { s.set(func() { s.tokenTTL = d }) }

// SetRegistrationLifetime sets the lifetime of client registrations made
// from now on.
func (s *SSO) SetRegistrationLifetime(d time.Duration) { s.set(func() { s.regTTL = d }) }

// SetRefresh allows or refuses (InvalidGrantException) the refresh_token
// grant; allowed by default.
func (s *SSO) SetRefresh(allowed bool) { s.set(func() { s.noRenew = !allowed }) }

// SlowDownNext makes the next n device-code polls answer slow_down.
func (s *SSO) SlowDownNext(n int) { s.set(func() { s.slowDown = n }) }

// SetInterval sets the polling interval (seconds) StartDeviceAuthorization
// asks for; 1 by default.
func (s *SSO) SetInterval(sec int) { s.set(func() { s.interval = sec }) }

func (s *SSO) set(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// Count returns how many requests reached operation op: RegisterClient,
// StartDeviceAuthorization, CreateToken, Authorize, Verify,
// GetRoleCredentials, ListAccounts, ListAccountRoles, Logout.
func (s *SSO) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// ExpireAccessTokens makes every access token issued so far expired, as
// after a night; refresh tokens keep working.
func (s *SSO) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.access {
		a.expires = s.sts.now().Add(-time.Second)
	}
}

// ssoError is an error answer of either service: the OAuth `error` and
// `error_description` fields for OIDC, `message` for the portal.
type ssoError struct {
	status      int
	typ         string
	oauth, desc string
}

func oidcErr(status int, typ, oauth, desc string) *ssoError {
	return &ssoError{status: status, typ: typ, oauth: oauth, desc: desc}
}

func (e *ssoError) write(w http.ResponseWriter) {
	w.Header().Set("X-Amzn-Errortype", e.typ)
	body := map[string]string{"message": e.desc}
	if e.oauth != "" {
		body = map[string]string{"error": e.oauth, "error_description": e.desc}
	}
	writeJSONStatus(w, e.status, body)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", newRequestID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP answers one OIDC or portal request.
func (s *SSO) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	type route struct {
		method, path, op string
		h                func(*http.Request, []byte) (any, *ssoError)
	}
	routes := []route{
		{http.MethodPost, "/client/register", "RegisterClient", s.register},
		{http.MethodPost, "/device_authorization", "StartDeviceAuthorization", s.startDevice},
		{http.MethodPost, "/token", "CreateToken", s.createToken},
		{http.MethodGet, "/federation/credentials", "GetRoleCredentials", s.roleCredentials},
		{http.MethodGet, "/assignment/accounts", "ListAccounts", s.listAccounts},
		{http.MethodGet, "/assignment/roles", "ListAccountRoles", s.listRoles},
		{http.MethodPost, "/logout", "Logout", s.logout},
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	switch r.URL.Path {
	case "/authorize":
		s.count("Authorize")
		s.authorize(w, r)
		return
	case "/device":
		s.count("Verify")
		s.verify(w, r)
		return
	case "/ssotest/expire-after":
		// A test's hand on the stand-in from a script: every access token
		// expires after ?calls=N more portal calls.
		n, err := strconv.Atoi(r.URL.Query().Get("calls"))
		if err != nil {
			http.Error(w, "ssotest: calls=N", http.StatusBadRequest)
			return
		}
		s.ExpireAfter(max(n, 1))
		fmt.Fprintln(w, "ssotest: tokens expire after", n, "portal calls")
		return
	}
	for _, rt := range routes {
		if rt.path != r.URL.Path || rt.method != r.Method {
			continue
		}
		s.count(rt.op)
		if strings.HasPrefix(r.URL.Path, "/federation/") || strings.HasPrefix(r.URL.Path, "/assignment/") {
			if serr := s.portalGate(); serr != nil {
				s.count("Throttled")
				serr.write(w)
				return
			}
		}
		out, serr := rt.h(r, body)
		if serr != nil {
			s.sts.logf("ssotest: %s -> %d %s", rt.op, serr.status, serr.typ)
			serr.write(w)
			return
		}
		s.sts.logf("ssotest: %s -> 200", rt.op)
		writeJSONStatus(w, http.StatusOK, out)
		return
	}
	oidcErr(http.StatusNotFound, "UnknownOperationException", "", r.Method+" "+r.URL.Path).write(w)
}

// portalGate applies the portal's latency and shared throttle, and the
// countdown of ExpireAfter.
func (s *SSO) portalGate() *ssoError {
	s.mu.Lock()
	d := s.portalLatency
	ok := s.bucket.take(time.Now())
	if ok && s.expireAfter > 0 {
		if s.expireAfter--; s.expireAfter == 0 {
			for _, a := range s.access {
				a.expires = s.sts.now().Add(-time.Second)
			}
		}
	}
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	if !ok {
		return &ssoError{status: http.StatusTooManyRequests, typ: "TooManyRequestsException", desc: "HTTP 429 Unknown Code"}
	}
	return nil
}

func (s *SSO) count(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[op]++
}

func decode(body []byte, v any) *ssoError {
	if err := json.Unmarshal(body, v); err != nil {
		return oidcErr(http.StatusBadRequest, "InvalidRequestException", "invalid_request", "body is not JSON: "+err.Error())
	}
	return nil
}

func (s *SSO) register(_ *http.Request, body []byte) (any, *ssoError) {
	var in struct {
		ClientName, ClientType, IssuerURL string
		Scopes, GrantTypes, RedirectUris  []string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.ClientName == "" || in.ClientType != "public" {
		return nil, oidcErr(http.StatusBadRequest, "InvalidRequestException", "invalid_request", "clientName and clientType public are required")
	}
	if slices.Contains(in.GrantTypes, "authorization_code") && (in.IssuerURL == "" || len(in.RedirectUris) == 0) {
		return nil, oidcErr(http.StatusBadRequest, "InvalidRequestException", "invalid_request", "authorization_code needs issuerUrl and redirectUris")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, secret := "cid-"+randHex(8), "csecret-"+randHex(16)
	now := s.sts.now()
	c := &ssoClient{secret: secret, grantTypes: in.GrantTypes, expires: now.Add(s.regTTL)}
	s.clients[id] = c
	return map[string]any{"clientId": id, "clientSecret": secret, "clientIdIssuedAt": now.Unix(), "clientSecretExpiresAt": c.expires.Unix()}, nil
}

// client checks a client's credentials; the caller holds s.mu.
func (s *SSO) client(id, secret string) (*ssoClient, *ssoError) {
	c := s.clients[id]
	switch {
	case c == nil || c.secret != secret:
		return nil, oidcErr(http.StatusUnauthorized, "InvalidClientException", "invalid_client", "Invalid client credentials")
	case !s.sts.now().Before(c.expires):
		return nil, oidcErr(http.StatusUnauthorized, "InvalidClientException", "invalid_client", "Client registration has expired")
	}
	return c, nil
}

// baseURL is how the caller reached the stand-in.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (s *SSO) startDevice(r *http.Request, body []byte) (any, *ssoError) {
	var in struct{ ClientID, ClientSecret, StartURL string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.client(in.ClientID, in.ClientSecret); e != nil {
		return nil, e
	}
	code, user := "dc-"+randHex(16), randUpper(4)+"-"+randUpper(4)
	s.devices[code] = &ssoDevice{clientID: in.ClientID, userCode: user, expires: s.sts.now().Add(10 * time.Minute)}
	verify := baseURL(r) + "/device"
	return map[string]any{
		"deviceCode": code, "userCode": user, "verificationUri": verify,
		"verificationUriComplete": verify + "?user_code=" + user, "expiresIn": 600, "interval": s.interval,
	}, nil
}

// verify is the page a person opens to confirm a device code.
func (s *SSO) verify(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user_code")
	s.mu.Lock()
	defer s.mu.Unlock()
	deny := s.deny || r.URL.Query().Get(SSODenyParam) != ""
	for _, d := range s.devices {
		if d.userCode == user {
			d.approved, d.denied = !deny, deny
			fmt.Fprintf(w, "ssotest: code %s %s\n", user, map[bool]string{true: "denied", false: "approved"}[deny])
			return
		}
	}
	http.Error(w, "ssotest: unknown code", http.StatusNotFound)
}

// authorize is the browser's sign-in page: it answers at once, as a person
// who approves (or, with SetDeny, refuses) would.
func (s *SSO) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[q.Get("client_id")]
	switch {
	case c == nil || !slices.Contains(c.grantTypes, "authorization_code"):
		http.Error(w, "ssotest: unknown client or not registered for authorization_code", http.StatusBadRequest)
		return
	case err != nil || redirect.Scheme != "http" || redirect.Path != "/oauth/callback" || net.ParseIP(redirect.Hostname()) == nil || !net.ParseIP(redirect.Hostname()).IsLoopback():
		http.Error(w, "ssotest: redirect_uri must be http://127.0.0.1:PORT/oauth/callback", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "ssotest: response_type=code and an S256 code_challenge are required", http.StatusBadRequest)
		return
	}
	// A real browser (it asks for HTML) gets a sign-in page whose form
	// posts the approval back from script, as the portal's own page does
	// with the person's click; the redirect then comes from that POST.
	if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Sign in</title><form id="f" method="post" action="/authorize?%s"><button>Allow</button></form>`+
			`<script>document.getElementById("f").submit()</script>`, html.EscapeString(r.URL.RawQuery))
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if s.deny || q.Get(SSODenyParam) != "" {
		back.Set("error", "access_denied")
		back.Set("error_description", "the user denied the request")
	} else {
		code := "ac-" + randHex(16)
		s.codes[code] = &ssoCode{clientID: q.Get("client_id"), redirect: redirect.String(), challenge: q.Get("code_challenge"), expires: s.sts.now().Add(5 * time.Minute)}
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

var errInvalidGrant = oidcErr(http.StatusBadRequest, "InvalidGrantException", "invalid_grant", "Invalid grant provided")

func (s *SSO) createToken(_ *http.Request, body []byte) (any, *ssoError) {
	var in struct {
		ClientID, ClientSecret, GrantType, DeviceCode, Code, CodeVerifier, RedirectURI, RefreshToken string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.client(in.ClientID, in.ClientSecret)
	if e != nil {
		return nil, e
	}
	now := s.sts.now()
	switch in.GrantType {
	case "urn:ietf:params:oauth:grant-type:device_code":
		d := s.devices[in.DeviceCode]
		switch {
		case d == nil || d.clientID != in.ClientID:
			return nil, errInvalidGrant
		case !now.Before(d.expires):
			return nil, oidcErr(http.StatusBadRequest, "ExpiredTokenException", "expired_token", "Device code has expired")
		case s.slowDown > 0:
			s.slowDown--
			return nil, oidcErr(http.StatusBadRequest, "SlowDownException", "slow_down", "Client is polling too fast")
		case d.denied:
			delete(s.devices, in.DeviceCode)
			return nil, oidcErr(http.StatusBadRequest, "AccessDeniedException", "access_denied", "Access denied")
		case !d.approved:
			return nil, oidcErr(http.StatusBadRequest, "AuthorizationPendingException", "authorization_pending", "Authorization is still pending")
		}
		delete(s.devices, in.DeviceCode)
	case "authorization_code":
		ac := s.codes[in.Code]
		delete(s.codes, in.Code) // one use, whatever the outcome
		sum := sha256.Sum256([]byte(in.CodeVerifier))
		if ac == nil || ac.clientID != in.ClientID || ac.redirect != in.RedirectURI || !now.Before(ac.expires) ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge {
			return nil, errInvalidGrant
		}
	case "refresh_token":
		if s.refresh[in.RefreshToken] != in.ClientID || s.noRenew {
			return nil, errInvalidGrant
		}
		delete(s.refresh, in.RefreshToken) // rotated
	default:
		return nil, oidcErr(http.StatusBadRequest, "UnsupportedGrantTypeException", "unsupported_grant_type", "Unsupported grant type: "+in.GrantType)
	}
	at := "aoa-" + randHex(24)
	s.access[at] = &ssoAccess{clientID: in.ClientID, expires: now.Add(s.tokenTTL)}
	out := map[string]any{"accessToken": at, "tokenType": "Bearer", "expiresIn": int(s.tokenTTL / time.Second)}
	if slices.Contains(c.grantTypes, "refresh_token") {
		rt := "rt-" + randHex(24)
		s.refresh[rt] = in.ClientID
		out["refreshToken"] = rt
	}
	return out, nil
}

// bearer checks the portal's access token header; the caller holds s.mu.
func (s *SSO) bearer(r *http.Request) *ssoError {
	a := s.access[r.Header.Get("X-Amz-Sso_bearer_token")]
	if a == nil || a.revoked || !s.sts.now().Before(a.expires) {
		return &ssoError{status: http.StatusUnauthorized, typ: "UnauthorizedException", desc: "Session token not found or invalid"}
	}
	return nil
}

// assigned returns the roles of account, by name: those of SetAccounts, or
// the STS stand-in's roles in that account.
func (s *SSO) assigned(account string) []Role {
	var out []Role
	s.mu.Lock()
	accounts := s.accounts
	s.mu.Unlock()
	if accounts != nil {
		for _, a := range accounts {
			if a.ID != account {
				continue
			}
			for _, name := range a.Roles {
				sum := sha256.Sum256([]byte(account + "/" + name))
				out = append(out, Role{ARN: "arn:aws:iam::" + account + ":role/" + name, RoleID: "AROA" + strings.ToUpper(fmt.Sprintf("%x", sum[:8]))})
			}
		}
		return out
	}
	for _, r := range s.sts.Roles() {
		if r.Account() == account {
			out = append(out, r)
		}
	}
	return out
}

func (s *SSO) roleCredentials(r *http.Request, _ []byte) (any, *ssoError) {
	q := r.URL.Query()
	account, name := q.Get("account_id"), q.Get("role_name")
	s.mu.Lock()
	e := s.bearer(r)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	i := slices.IndexFunc(s.assigned(account), func(r Role) bool { return r.Name() == name })
	if i < 0 {
		return nil, &ssoError{status: http.StatusForbidden, typ: "ForbiddenException", desc: "No access"}
	}
	role := s.assigned(account)[i]
	id := Identity{
		Name: "sso:" + name, Account: account, ARN: "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + SSOUser,
		UserID: role.RoleID + ":" + SSOUser, AccessKeyID: "ASIA" + randUpper(16), SecretAccessKey: randHex(20),
		SessionToken: "IQoJb3JpZ2luX2VjSSO" + randHex(32), Expiration: s.sts.now().Add(time.Hour).Truncate(time.Second),
	}
	s.sts.AddIdentity(id)
	return map[string]any{"roleCredentials": map[string]any{
		"accessKeyId": id.AccessKeyID, "secretAccessKey": id.SecretAccessKey, "sessionToken": id.SessionToken,
		"expiration": id.Expiration.UnixMilli(),
	}}, nil
}

// page cuts list at the request's next_token and max_result as the
// portal does: max_result 1–100 (default 100; larger is rejected), and an
// opaque next_token while more remain.
func page[T any](r *http.Request, list []T) ([]T, string, *ssoError) {
	q := r.URL.Query()
	size := 100
	if v := q.Get("max_result"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, "", &ssoError{status: http.StatusBadRequest, typ: "InvalidRequestException",
				desc: "1 validation error detected: Value '" + v + "' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"}
		}
		size = n
	}
	off := 0
	if v := q.Get("next_token"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "ssotest-page:"))
		if err != nil || err2 != nil || n < 0 || n > len(list) {
			return nil, "", &ssoError{status: http.StatusBadRequest, typ: "InvalidRequestException", desc: "Invalid pagination token"}
		}
		off = n
	}
	end := min(len(list), off+size)
	next := ""
	if end < len(list) {
		next = base64.RawURLEncoding.EncodeToString([]byte("ssotest-page:" + strconv.Itoa(end)))
	}
	return list[off:end], next, nil
}

func (s *SSO) listAccounts(r *http.Request, _ []byte) (any, *ssoError) {
	s.mu.Lock()
	e := s.bearer(r)
	accounts := s.accounts
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	list := []map[string]string{}
	if accounts != nil {
		for _, a := range accounts {
			list = append(list, map[string]string{"accountId": a.ID, "accountName": a.Name, "emailAddress": "aws+" + a.ID + "@example.com"})
		}
	} else {
		seen := map[string]bool{}
		for _, role := range s.sts.Roles() {
			if a := role.Account(); !seen[a] {
				seen[a] = true
				list = append(list, map[string]string{"accountId": a, "accountName": "account-" + a, "emailAddress": "aws+" + a + "@example.com"})
			}
		}
	}
	pg, next, e := page(r, list)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"accountList": pg}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *SSO) listRoles(r *http.Request, _ []byte) (any, *ssoError) {
	s.mu.Lock()
	e := s.bearer(r)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	account := r.URL.Query().Get("account_id")
	s.mu.Lock()
	fail := s.failRoles[account]
	s.mu.Unlock()
	if fail {
		return nil, &ssoError{status: http.StatusInternalServerError, typ: "InternalServerException", desc: "ssotest: this account's roles cannot be listed"}
	}
	list := []map[string]string{}
	for _, role := range s.assigned(account) {
		list = append(list, map[string]string{"roleName": role.Name(), "accountId": account})
	}
	pg, next, e := page(r, list)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"roleList": pg}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *SSO) logout(r *http.Request, _ []byte) (any, *ssoError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.bearer(r); e != nil {
		return nil, e
	}
	s.access[r.Header.Get("X-Amz-Sso_bearer_token")].revoked = true
	return struct{}{}, nil
}

// Mux hands each request to the stand-in its Host names: STS hosts to
// STS, eks.<region>.amazonaws.com to EKS, oidc.<region>.amazonaws.com and
// portal.sso.<region>.amazonaws.com to SSO. It is what the Rig's proxy
// serves.
type Mux struct {
	STS *Server
	EKS *EKS
	SSO *SSO
	IAM *IAM
}

func (m *Mux) route(host string) http.Handler {
	host = strings.ToLower(stripPort(host))
	region := func(prefix string) bool {
		r, ok := strings.CutPrefix(strings.TrimSuffix(host, ".amazonaws.com"), prefix)
		return ok && strings.HasSuffix(host, ".amazonaws.com") && r != "" && !strings.Contains(r, ".")
	}
	switch {
	case IsSTSHost(host):
		return m.STS
	case m.IAM != nil && host == "iam.amazonaws.com":
		return m.IAM
	case m.EKS != nil && region("eks."):
		return m.EKS
	case m.SSO != nil && (region("oidc.") || region("portal.sso.")):
		return m.SSO
	}
	return nil
}

// Handles reports whether host (without port) is served, for ProxyOptions.Allow.
func (m *Mux) Handles(host string) bool { return m.route(host) != nil }

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := m.route(r.Host)
	if h == nil {
		http.Error(w, "ststest: no stand-in for host "+r.Host, http.StatusMisdirectedRequest)
		return
	}
	h.ServeHTTP(w, r)
}
