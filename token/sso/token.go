package sso

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/clierr"
)

// RenewBefore is how long before its expiry an access token is renewed: a
// token used later might expire during the calls made with it.
const RenewBefore = 5 * time.Minute

// Token is the content of a session's token file, as the AWS SDKs and the
// AWS CLI write and read it.
type Token struct {
	AccessToken  string
	RefreshToken string
	ClientID     string
	ClientSecret string
	Region       string
	StartURL     string
	ExpiresAt    time.Time
	// RegistrationExpiresAt is when ClientID/ClientSecret stop working; a
	// refresh needs a valid registration.
	RegistrationExpiresAt time.Time

	// raw holds every field of the file as read, so a rewrite keeps the
	// ones this type does not know.
	raw map[string]json.RawMessage
}

// State says what a token is good for.
type State int

const (
	// NeedsLogin: no token, or one that can neither be used nor renewed.
	NeedsLogin State = iota
	// Renewable: the access token is (nearly) expired, but a refresh token
	// and a valid client registration can renew it without a person.
	Renewable
	// Valid: more than RenewBefore left.
	Valid
)

func (s State) String() string {
	switch s {
	case Valid:
		return "valid"
	case Renewable:
		return "renewable"
	}
	return "needs login"
}

// State tells at now whether t can be used as it is, renewed, or needs a
// sign-in; a nil token needs a sign-in.
func (t *Token) State(now time.Time) State {
	switch {
	case t == nil:
		return NeedsLogin
	case t.AccessToken != "" && t.ExpiresAt.Sub(now) > RenewBefore:
		return Valid
	case t.canRefresh(now):
		return Renewable
	}
	return NeedsLogin
}

func (t *Token) canRefresh(now time.Time) bool {
	return t.RefreshToken != "" && t.ClientID != "" && t.ClientSecret != "" && t.RegistrationExpiresAt.After(now)
}

// registrationValid tells whether the client registration in t can still be
// used at now for a sign-in that may take a while.
func (t *Token) registrationValid(now time.Time) bool {
	return t != nil && t.ClientID != "" && t.ClientSecret != "" && t.RegistrationExpiresAt.Sub(now) > time.Hour
}

// timeLayout is how the AWS CLI writes times in the token file (UTC, whole
// seconds, "Z"); any RFC 3339 time is read.
const timeLayout = "2006-01-02T15:04:05Z"

// parseTime reads a token file time: RFC 3339, or the "…UTC" form older
// AWS CLI versions wrote.
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if s, ok := strings.CutSuffix(v, "UTC"); ok {
		return time.Parse("2006-01-02T15:04:05", s)
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", v)
}

type stringField struct {
	name string
	val  *string
}

type timeField struct {
	name string
	val  *time.Time
}

func (t *Token) fields() ([]stringField, []timeField) {
	return []stringField{
			{"accessToken", &t.AccessToken}, {"refreshToken", &t.RefreshToken},
			{"clientId", &t.ClientID}, {"clientSecret", &t.ClientSecret},
			{"region", &t.Region}, {"startUrl", &t.StartURL},
		}, []timeField{
			{"expiresAt", &t.ExpiresAt}, {"registrationExpiresAt", &t.RegistrationExpiresAt},
		}
}

// UnmarshalJSON reads a token file, keeping every field.
func (t *Token) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*t = Token{raw: raw}
	strs, times := t.fields()
	for _, f := range strs {
		if v, ok := raw[f.name]; ok {
			if err := json.Unmarshal(v, f.val); err != nil {
				return fmt.Errorf("%s is not a string", f.name)
			}
		}
	}
	for _, f := range times {
		v, ok := raw[f.name]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("%s is not a string", f.name)
		}
		tm, err := parseTime(s)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		*f.val = tm
	}
	return nil
}

// MarshalJSON writes the known fields over the ones read, leaving the
// others as they were. Empty fields are left out, as the AWS CLI does.
func (t *Token) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(t.raw)+8)
	for k, v := range t.raw {
		out[k] = v
	}
	strs, times := t.fields()
	for _, f := range strs {
		delete(out, f.name)
		if *f.val != "" {
			out[f.name] = *f.val
		}
	}
	for _, f := range times {
		delete(out, f.name)
		if !f.val.IsZero() {
			out[f.name] = f.val.UTC().Format(timeLayout)
		}
	}
	return json.Marshal(out)
}

// ReadToken reads the session's token file. A missing file is
// errors.Is(err, fs.ErrNotExist); a file that is damaged, not a regular
// file of the user with a private mode, or a symbolic link is a one-line
// error naming it.
func (s *Session) ReadToken() (*Token, error) {
	path, err := s.TokenFile()
	if err != nil {
		return nil, err
	}
	b, err := cache.ReadPrivateFile(path)
	var ue *cache.UntrustedFileError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no SSO token for %s: %w", s, fs.ErrNotExist)
	case errors.As(err, &ue):
		return nil, clierr.WithHint(fmt.Errorf("refusing the SSO token file of %s: %w", s, err),
			"remove %s and sign in again", path)
	case err != nil:
		return nil, fmt.Errorf("could not read the SSO token of %s: %w", s, err)
	}
	t := new(Token)
	if err := json.Unmarshal(b, t); err != nil {
		return nil, clierr.WithHint(fmt.Errorf("the SSO token file %s is damaged: %v", path, err),
			"remove it and sign in again")
	}
	return t, nil
}

// WriteToken writes t as the session's token file: mode 0600, through a
// synced temporary file and a rename, fields t does not know kept.
func (s *Session) WriteToken(t *Token) error {
	path, err := s.TokenFile()
	if err != nil {
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("could not encode the SSO token: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("could not write the SSO token: %w", err)
	}
	if err := cache.WriteFileAtomic(path, b); err != nil {
		return fmt.Errorf("could not write the SSO token: %w", err)
	}
	return nil
}

// RemoveToken removes the session's token file; a missing one is no error.
func (s *Session) RemoveToken() error {
	path, err := s.TokenFile()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not remove the SSO token: %w", err)
	}
	return nil
}
