// Package ssocache reads the files of the SSO token cache that the AWS SDKs
// and the AWS CLI share (~/.aws/sso/cache/<sha1>.json) and the sections of
// the shared config file that name them. It links no AWS SDK package, so
// the small front binary can tell, in well under a millisecond, that an SSO
// session has expired and cannot be renewed (see package sso for signing in
// and renewing).
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package ssocache

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
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
	case t.CanRefresh(now):
		return Renewable
	}
	return NeedsLogin
}

// CanRefresh tells whether t has what the refresh_token grant needs at now:
// a refresh token and a client registration that has not expired.
func (t *Token) CanRefresh(now time.Time) bool {
	return t.RefreshToken != "" && t.ClientID != "" && t.ClientSecret != "" && t.RegistrationExpiresAt.After(now)
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

// Path is the token file of a session: ~/.aws/sso/cache/<sha1 hex of
// key>.json, where key is the sso-session name, or the start URL of a legacy
// profile (the AWS SDKs' and the AWS CLI's rule).
func Path(key string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("could not find the SSO token cache: no home directory")
	}
	sum := sha1.Sum([]byte(key))
	return filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json"), nil
}

// Parse reads the content of a token file.
func Parse(b []byte) (*Token, error) {
	t := new(Token)
	if err := json.Unmarshal(b, t); err != nil {
		return nil, err
	}
	return t, nil
}

// SetRaw replaces the fields t was read with (tests: a field another tool
// added).
func (t *Token) SetRaw(raw map[string]json.RawMessage) { t.raw = raw }
