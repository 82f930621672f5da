package sso

import (
	"errors"
	"io/fs"
	"time"

	"github.com/kubeiam/kubeiam/token/sso/ssocache"
)

// Summary is what `kubeiam profile list` and `kubeiam doctor` say of the SSO
// session a context depends on. Making it reads files only.
type Summary struct {
	// Session names it: the sso-session name, or the start URL of a legacy
	// profile.
	Session string `json:"session"`
	// SignedIn: a token file exists.
	SignedIn bool `json:"signedIn"`
	// ExpiresAt is when the access token expires (zero when not signed in).
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// CanRenew: a refresh token and a client registration that is still
	// valid let kubeiam renew the token without a person.
	CanRenew bool `json:"canRenew"`
	// Problem is why the token file could not be read, if it could not.
	Problem string `json:"problem,omitempty"`
}

// Describe summarises the session's sign-in at now, with no network call.
func (s *Session) Describe(now time.Time) Summary {
	sum := Summary{Session: s.Name}
	if sum.Session == "" {
		sum.Session = s.StartURL
	}
	tok, err := s.ReadToken()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sum
	case err != nil:
		sum.Problem = err.Error()
		return sum
	}
	sum.SignedIn, sum.ExpiresAt = true, tok.ExpiresAt
	sum.CanRenew = tok.RefreshToken != "" && tok.ClientID != "" && tok.ClientSecret != "" &&
		now.Before(tok.RegistrationExpiresAt)
	return sum
}

// ForProfile returns the SSO session that credentials for profile come from
// (nil if none), in the AWS SDK's order (ssocache.CredentialProfile). getenv
// is the environment the credentials are loaded in (a kubeconfig exec
// block's, for doctor).
func ForProfile(profile string, getenv func(string) string) (*Session, error) {
	name, fromProfile := ssocache.CredentialProfile(profile, getenv)
	if !fromProfile {
		return nil, nil
	}
	return Resolve(name)
}
