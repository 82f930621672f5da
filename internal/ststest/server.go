// Package ststest is a stand-in for AWS STS that verifies SigV4 signatures,
// for tests and the benchmark harness only: never import it from code that
// ships in the kubeiam binaries.
//
// A Server answers the two STS calls kubeiam and aws-iam-authenticator make:
// GetCallerIdentity (as a presigned GET, the form a token carries, or as a
// signed POST) and AssumeRole (signed POST). Every request is checked against
// a table of identities by recomputing its signature with the SDK's own v4
// signer, so a token that names the wrong cluster ID, a wrong secret, a
// missing session token or an expired temporary credential fails exactly as
// it would against STS. Credentials issued by AssumeRole join the table.
//
// A Server is a plain http.Handler: mount it on an httptest.Server and point
// AWS_ENDPOINT_URL_STS at it, or put it behind a Proxy (proxy.go) so clients
// and the authenticator server can use the real STS host names through
// HTTPS_PROXY and SSL_CERT_FILE.
package ststest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Account IDs of the default identity table.
const (
	AccountA = "111122223333"
	AccountB = "444455556666"
)

// Identity is one principal STS knows, with the credentials that sign as it.
type Identity struct {
	// Name is a short handle for tests ("alice"); it is not sent anywhere.
	Name string
	// Account is the 12-digit account ID GetCallerIdentity reports.
	Account string
	// ARN is what GetCallerIdentity reports: an IAM user ARN, or an
	// arn:aws:sts::ACCT:assumed-role/ROLE/SESSION ARN for role sessions.
	ARN string
	// UserID is GetCallerIdentity's UserId: AIDA… for users,
	// AROA…:SESSION for role sessions.
	UserID string

	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is set for temporary credentials (ASIA…); a request signed
	// with them must carry it.
	SessionToken string
	// Expiration is when temporary credentials stop working; zero for
	// long-term keys.
	Expiration time.Time
}

// Role is an IAM role that AssumeRole can assume.
type Role struct {
	// ARN is the role ARN callers pass (arn:aws:iam::ACCT:role/PATH/NAME).
	ARN string
	// RoleID is the AROA… unique ID that prefixes UserId of its sessions.
	RoleID string
	// TrustedARNs, when not empty, lists the caller ARNs allowed to assume
	// the role; anyone else gets AccessDenied.
	TrustedARNs []string
	// ExternalID, when set, must be passed as ExternalId.
	ExternalID string
	// MFASerial and MFACode, when set, must be passed as SerialNumber and
	// TokenCode.
	MFASerial string
	MFACode   string
}

// Account returns the account ID in the role ARN.
func (r Role) Account() string { return arnField(r.ARN, 4) }

// Name returns the role name without its path.
func (r Role) Name() string {
	res := arnField(r.ARN, 5)
	return res[strings.LastIndex(res, "/")+1:]
}

func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) <= i {
		return ""
	}
	return parts[i]
}

// Options configure a Server. The zero value serves DefaultIdentities and
// DefaultRoles on the real clock.
type Options struct {
	// Identities replaces DefaultIdentities when not nil.
	Identities []Identity
	// Roles replaces DefaultRoles when not nil.
	Roles []Role
	// Now is the clock used for signature windows and credential expiry.
	Now func() time.Time
	// Logf, when set, receives one line per request (action, caller, outcome).
	Logf func(format string, args ...any)
}

// DefaultIdentities returns the standard table: users and a role session in
// two accounts. Keys are fixed so that logs and env files are reproducible;
// tests that need an identity nobody else uses should call Server.NewUser.
func DefaultIdentities() []Identity {
	return []Identity{
		{Name: "alice", Account: AccountA, ARN: "arn:aws:iam::" + AccountA + ":user/alice", UserID: "AIDAALICE0000000000001",
			AccessKeyID: "AKIAALICE00000000001", SecretAccessKey: "aliceSecretKey0000000000000000000000000001"},
		{Name: "bob", Account: AccountA, ARN: "arn:aws:iam::" + AccountA + ":user/bob", UserID: "AIDABOB00000000000002",
			AccessKeyID: "AKIABOB0000000000002", SecretAccessKey: "bobSecretKey00000000000000000000000000002"},
		{Name: "mallory", Account: AccountA, ARN: "arn:aws:iam::" + AccountA + ":user/mallory", UserID: "AIDAMALLORY000000003",
			AccessKeyID: "AKIAMALLORY000000003", SecretAccessKey: "mallorySecretKey000000000000000000000003"},
		{Name: "carol", Account: AccountB, ARN: "arn:aws:iam::" + AccountB + ":user/team/carol", UserID: "AIDACAROL0000000000004",
			AccessKeyID: "AKIACAROL00000000004", SecretAccessKey: "carolSecretKey0000000000000000000000000004"},
		// A role session that exists before the test starts, as after
		// `aws sso login` or on EC2: temporary keys with a session token.
		{Name: "ops-session", Account: AccountB, ARN: "arn:aws:sts::" + AccountB + ":assumed-role/ops/ops-session", UserID: "AROAOPS0000000000005:ops-session",
			AccessKeyID: "ASIAOPSSESSION000005", SecretAccessKey: "opsSessionSecret00000000000000000000000005",
			SessionToken: "FwoGZXIvYXdzEOPS//////////session-token-0005"},
	}
}

// DefaultRoles returns the standard roles: one per account, one with a path,
// one that only alice may assume and one that requires an external ID.
func DefaultRoles() []Role {
	return []Role{
		{ARN: "arn:aws:iam::" + AccountA + ":role/KubeAdmin", RoleID: "AROAKUBEADMIN00000001"},
		{ARN: "arn:aws:iam::" + AccountB + ":role/KubeViewer", RoleID: "AROAKUBEVIEWER0000002"},
		{ARN: "arn:aws:iam::" + AccountA + ":role/teams/platform/Deployer", RoleID: "AROADEPLOYER000000003"},
		{ARN: "arn:aws:iam::" + AccountA + ":role/AliceOnly", RoleID: "AROAALICEONLY00000004",
			TrustedARNs: []string{"arn:aws:iam::" + AccountA + ":user/alice"}},
		{ARN: "arn:aws:iam::" + AccountB + ":role/Partner", RoleID: "AROAPARTNER0000000005", ExternalID: "partner-ext-id"},
		{ARN: "arn:aws:iam::" + AccountA + ":role/MFARequired", RoleID: "AROAMFAREQUIRED000006",
			MFASerial: "arn:aws:iam::" + AccountA + ":mfa/alice", MFACode: "123456"},
	}
}

// Server is the STS stand-in. It is safe for concurrent use.
type Server struct {
	now  func() time.Time
	logf func(format string, args ...any)

	mu         sync.Mutex
	identities []Identity
	roles      []Role
	// iamRoles exist in IAM only: GetRole and EKS see them; nobody
	// assumes them and the SSO portal lists none.
	iamRoles   []Role
	counts     map[string]int
	failN      int
	failStatus int
	latency    time.Duration
}

// New returns a Server for opts.
func New(opts Options) *Server {
	s := &Server{now: opts.Now, logf: opts.Logf, counts: map[string]int{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	s.identities = opts.Identities
	if s.identities == nil {
		s.identities = DefaultIdentities()
	}
	s.roles = opts.Roles
	if s.roles == nil {
		s.roles = DefaultRoles()
	}
	return s
}

// Identities returns a copy of the table, including credentials issued by
// AssumeRole so far.
func (s *Server) Identities() []Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identity(nil), s.identities...)
}

// Identity returns the identity with the given Name (or ARN); it panics when
// there is none, since that is a mistake in the test itself.
func (s *Server) Identity(name string) Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.identities {
		if id.Name == name || id.ARN == name {
			return id
		}
	}
	panic(fmt.Sprintf("ststest: no identity %q", name))
}

// Roles returns a copy of the assumable roles.
func (s *Server) Roles() []Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Role(nil), s.roles...)
}

// AddIdentity adds id to the table.
func (s *Server) AddIdentity(id Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities = append(s.identities, id)
}

// AddRole adds r to the assumable roles.
func (s *Server) AddRole(r Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles = append(s.roles, r)
}

// AddIAMRole adds a role that exists in IAM only (GetRole, access-entry
// principals), not among the assumable roles the SSO portal lists.
func (s *Server) AddIAMRole(r Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.iamRoles = append(s.iamRoles, r)
}

// iamRoleList is every role IAM has: assumable ones and IAM-only ones.
func (s *Server) iamRoleList() []Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(append([]Role(nil), s.roles...), s.iamRoles...)
}

// NewUser adds an IAM user with fresh random long-term keys and returns it.
// The kube-apiserver caches webhook answers per token for ~10 s, so cases
// that must not see each other's answers use users of their own.
func (s *Server) NewUser(account, name string) Identity {
	id := Identity{
		Name:            name,
		Account:         account,
		ARN:             "arn:aws:iam::" + account + ":user/" + name,
		UserID:          "AIDA" + randUpper(17),
		AccessKeyID:     "AKIA" + randUpper(16),
		SecretAccessKey: randHex(20),
	}
	s.AddIdentity(id)
	return id
}

// Count returns how many requests for action ("GetCallerIdentity",
// "AssumeRole") reached the server, including rejected and injected failures:
// a retried call counts once per attempt.
func (s *Server) Count(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[action]
}

// ResetCounts sets every Count back to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
}

// FailNext makes the next n requests fail with status before any other check:
// 400 and 429 answer STS's Throttling error ("Rate exceeded"), 5xx an
// InternalFailure/ServiceUnavailable error. n <= 0 cancels pending failures.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus = max(n, 0), status
}

// SetLatency makes every later request wait d before it is answered, so
// that tests of concurrent callers (one STS call for a herd) can be sure the
// calls overlap. Zero turns it off.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

func (s *Server) takeFailure() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN == 0 {
		return 0, false
	}
	s.failN--
	return s.failStatus, true
}

// stsError is an STS error answer.
type stsError struct {
	status  int
	code    string
	message string
}

func (e *stsError) Error() string { return e.code + ": " + e.message }

func errSender(status int, code, format string, args ...any) *stsError {
	return &stsError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// ServeHTTP answers one STS Query-protocol request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	format := formatXML
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		format = formatJSON
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, format, reqID, errSender(http.StatusBadRequest, "InvalidRequest", "could not read body: %v", err))
		return
	}
	params, err := requestParams(r, body)
	if err != nil {
		writeError(w, format, reqID, errSender(http.StatusBadRequest, "MalformedQueryString", "%v", err))
		return
	}
	action := params.Get("Action")
	s.mu.Lock()
	s.counts[action]++
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}

	if status, ok := s.takeFailure(); ok {
		e := errSender(status, "InternalFailure", "injected failure")
		switch {
		case status == http.StatusBadRequest || status == http.StatusTooManyRequests:
			e = errSender(status, "Throttling", "Rate exceeded")
		case status == http.StatusServiceUnavailable:
			e = errSender(status, "ServiceUnavailable", "Service is unavailable")
		}
		s.logf("ststest: %s %s -> injected %d %s", r.Method, action, status, e.code)
		writeError(w, format, reqID, e)
		return
	}

	caller, serr := s.authenticate(r, body)
	if serr == nil {
		switch action {
		case "GetCallerIdentity":
			s.logf("ststest: %s GetCallerIdentity host=%s caller=%s -> 200", r.Method, r.Host, caller.ARN)
			writeResult(w, format, reqID, &callerIdentity{Arn: caller.ARN, UserId: caller.UserID, Account: caller.Account})
			return
		case "AssumeRole":
			var res *assumeRoleResult
			res, serr = s.assumeRole(caller, params)
			if serr == nil {
				s.logf("ststest: AssumeRole caller=%s role=%s -> %s", caller.ARN, params.Get("RoleArn"), res.Credentials.AccessKeyId)
				writeResult(w, format, reqID, res)
				return
			}
		case "":
			serr = errSender(http.StatusBadRequest, "MissingAction", "Missing Action")
		default:
			serr = errSender(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version 2011-06-15", action)
		}
	}
	s.logf("ststest: %s %s host=%s -> %d %s", r.Method, action, r.Host, serr.status, serr)
	writeError(w, format, reqID, serr)
}

// requestParams merges the query string and, for form POSTs, the body, the
// way STS reads Query-protocol parameters. Duplicate keys are rejected since
// the authenticator server rejects them too.
func requestParams(r *http.Request, body []byte) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("could not parse query: %w", err)
	}
	if r.Method == http.MethodPost {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("could not parse form body: %w", err)
		}
		for k, v := range f {
			q[k] = append(q[k], v...)
		}
	}
	for k, v := range q {
		if len(v) > 1 {
			return nil, fmt.Errorf("duplicate parameter %s", k)
		}
	}
	return q, nil
}

// lookup finds the identity of an access key, checking session token and
// expiry the way STS does.
func (s *Server) lookup(akid, sessionToken string, now time.Time) (Identity, *stsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.identities {
		if id.AccessKeyID != akid {
			continue
		}
		if id.SessionToken != sessionToken {
			if id.SessionToken == "" {
				return Identity{}, errSender(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
			}
			return Identity{}, errSender(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid")
		}
		if !id.Expiration.IsZero() && !now.Before(id.Expiration) {
			return Identity{}, errSender(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
		}
		return id, nil
	}
	return Identity{}, errSender(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
}

func (s *Server) assumeRole(caller Identity, p url.Values) (*assumeRoleResult, *stsError) {
	arn := p.Get("RoleArn")
	sess := p.Get("RoleSessionName")
	if arn == "" || sess == "" {
		return nil, errSender(http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required")
	}
	if !validSessionName(sess) {
		return nil, errSender(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", sess)
	}
	duration := 3600
	if d := p.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return nil, errSender(http.StatusBadRequest, "ValidationError", "DurationSeconds %q must be between 900 and 43200", d)
		}
		duration = n
	}
	var role *Role
	for _, r := range s.Roles() {
		if r.ARN == arn {
			role = &r
			break
		}
	}
	denied := errSender(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, arn)
	if role == nil {
		return nil, denied
	}
	if len(role.TrustedARNs) > 0 && !contains(role.TrustedARNs, caller.ARN) {
		return nil, denied
	}
	if role.ExternalID != "" && p.Get("ExternalId") != role.ExternalID {
		return nil, denied
	}
	if role.MFASerial != "" && (p.Get("SerialNumber") != role.MFASerial || p.Get("TokenCode") != role.MFACode) {
		return nil, errSender(http.StatusForbidden, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
	}
	partition := arnField(arn, 1)
	id := Identity{
		Name:            role.Name() + "/" + sess,
		Account:         role.Account(),
		ARN:             "arn:" + partition + ":sts::" + role.Account() + ":assumed-role/" + role.Name() + "/" + sess,
		UserID:          role.RoleID + ":" + sess,
		AccessKeyID:     "ASIA" + randUpper(16),
		SecretAccessKey: randHex(20),
		SessionToken:    "FwoGZXIvYXdzE" + randHex(48),
		Expiration:      s.now().Add(time.Duration(duration) * time.Second).UTC().Truncate(time.Second),
	}
	s.AddIdentity(id)
	res := &assumeRoleResult{}
	res.AssumedRoleUser.Arn = id.ARN
	res.AssumedRoleUser.AssumedRoleId = id.UserID
	res.Credentials.AccessKeyId = id.AccessKeyID
	res.Credentials.SecretAccessKey = id.SecretAccessKey
	res.Credentials.SessionToken = id.SessionToken
	res.Credentials.Expiration = id.Expiration
	return res, nil
}

func validSessionName(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("_+=,.@-", c):
		default:
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randUpper(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newRequestID() string {
	h := randHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
