package cache

import "time"

// Credentials are derived AWS credentials (from AssumeRole, SSO, ...), kept
// so a fresh token can be signed locally while they are valid.
type Credentials struct {
	AccessKeyID     string    `json:"accessKeyID"`
	SecretAccessKey string    `json:"secretAccessKey"`
	SessionToken    string    `json:"sessionToken,omitempty"`
	Source          string    `json:"source,omitempty"`
	CanExpire       bool      `json:"canExpire"`
	Expires         time.Time `json:"expires,omitzero"`
}

// Entry is one cached answer for a Key.
type Entry struct {
	Key         Key       // what the entry answers; Get checks it against the one asked for
	Token       string    // "k8s-aws-v1...."; secret
	TokenExpiry time.Time // when the token stops being served (see TokenValid)
	// Credentials are the derived credentials the token was signed with;
	// secret; nil when there are none worth keeping (static keys).
	Credentials *Credentials

	// Set by Get and List, ignored by Put.
	Stored    time.Time // when Put wrote it, by the writer's clock
	Encrypted bool      // sealed under the keyring's data key
}

// clockSkew is how far in the future an entry's Stored time may be before
// the entry is distrusted: more than that means the clock jumped back, and
// expiry times computed before the jump cannot be compared with now.
const clockSkew = time.Minute

// maxTokenLifetime is how long aws-iam-authenticator accepts a token after
// signing; a cached expiry further away than that cannot be right.
const maxTokenLifetime = 15 * time.Minute

// TokenValid tells whether the token may still be handed out at now with at
// least minRemaining to spare, never past the expiry of the credentials it
// was signed with.
func (e *Entry) TokenValid(now time.Time, minRemaining time.Duration) bool {
	if e == nil || e.Token == "" || e.TokenExpiry.IsZero() || !e.trusted(now) {
		return false
	}
	left := e.TokenExpiry.Sub(now)
	if left < minRemaining || left > maxTokenLifetime {
		return false
	}
	if c := e.Credentials; c != nil && c.CanExpire && c.Expires.Sub(now) < minRemaining {
		return false
	}
	return true
}

// CredentialsValid tells whether the cached credentials may still sign a
// token at now with at least minRemaining to spare.
func (e *Entry) CredentialsValid(now time.Time, minRemaining time.Duration) bool {
	if e == nil || e.Credentials == nil || !e.trusted(now) {
		return false
	}
	c := e.Credentials
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return false
	}
	return !c.CanExpire || c.Expires.Sub(now) >= minRemaining
}

// trusted rejects entries written "in the future": the clock went back.
func (e *Entry) trusted(now time.Time) bool {
	return e.Stored.IsZero() || !e.Stored.After(now.Add(clockSkew))
}
