// Package sso signs in to IAM Identity Center (SSO) and keeps the sign-in
// renewed, so that kubeiam works without the AWS CLI: it resolves the SSO
// session a profile depends on, reads and writes the token file exactly where
// and how the AWS SDKs and the AWS CLI read it
// (~/.aws/sso/cache/<sha1>.json), renews it with the refresh_token grant and
// signs in with the authorization code flow with PKCE (a loopback redirect)
// or the device authorization flow.
//
// It links the SDK's ssooidc and sso clients, so only kubeiam-core imports
// it; the front binary never does.
//
// The token file is read and written as the AWS CLI does (same path, same
// JSON, unknown fields kept), so kubeiam and the AWS CLI share one sign-in.
// What a person must see to sign in (the URL, the code to confirm) goes to
// the writer the caller passes in LoginOptions; nothing else is printed.
//
// The exported API is part of kubeiam's library promise: api/kubeiam.txt
// records it and a test fails when it changes (README, "Using kubeiam as a
// library").
package sso

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token/sso/ssocache"
)

// DefaultScopes are the registration scopes of an sso-session that sets no
// sso_registration_scopes, as the AWS CLI uses.
var DefaultScopes = []string{"sso:account:access"}

// Session is the IAM Identity Center sign-in a profile depends on.
type Session struct {
	// Name is the sso-session name; "" for a legacy profile (sso_start_url
	// in the profile itself).
	Name     string
	StartURL string
	// Region is sso_region: where the OIDC and portal endpoints are.
	Region string
	// Scopes are sso_registration_scopes (DefaultScopes for an sso-session
	// that sets none; none for a legacy profile).
	Scopes []string
	// Profile is the profile the session was resolved from, as named by the
	// caller (AWS_PROFILE or "default" when it named none); "" when it was
	// resolved by session name.
	Profile string
	// AccountID and RoleName are sso_account_id and sso_role_name of the
	// profile that uses the session (the source profile, for a role
	// profile), when set.
	AccountID, RoleName string
}

// String names the session for messages: `SSO session "my-sso"`, or
// `SSO start URL https://…` for a legacy profile.
func (s *Session) String() string {
	if s.Name != "" {
		return fmt.Sprintf("SSO session %q", s.Name)
	}
	return "SSO start URL " + s.StartURL
}

// Legacy reports whether the session comes from a profile's own
// sso_start_url (no sso-session section). Such sessions have no refresh
// token and sign in with the device flow, as the AWS CLI does.
func (s *Session) Legacy() bool { return s.Name == "" }

// cacheKey is what the SDK and the AWS CLI hash into the token file name.
func (s *Session) cacheKey() string { return cmp.Or(s.Name, s.StartURL) }

// TokenFile is ~/.aws/sso/cache/<sha1 hex of Name, or of StartURL>.json,
// where the AWS SDKs and the AWS CLI look for the session's token.
func (s *Session) TokenFile() (string, error) { return ssocache.Path(s.cacheKey()) }

// configFiles are the shared config and credentials files the SDK reads.
func configFiles() (cfgFile, credFile string) {
	return cmp.Or(os.Getenv("AWS_CONFIG_FILE"), config.DefaultSharedConfigFilename()),
		cmp.Or(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), config.DefaultSharedCredentialsFilename())
}

// Resolve returns the SSO session the named profile depends on ("" means
// AWS_PROFILE, else AWS_DEFAULT_PROFILE, else default), following
// source_profile chains: a role profile whose source is an SSO profile
// depends on that profile's session. It is (nil, nil) when the profile does
// not use SSO. It reads files only. Errors are one line naming the fix.
func Resolve(profile string) (*Session, error) {
	implicit := profile == ""
	if implicit {
		profile = cmp.Or(os.Getenv("AWS_PROFILE"), os.Getenv("AWS_DEFAULT_PROFILE"), "default")
	}
	cfgFile, credFile := configFiles()
	sc, err := config.LoadSharedConfigProfile(context.Background(), profile, func(o *config.LoadSharedConfigOptions) {
		o.ConfigFiles, o.CredentialsFiles = []string{cfgFile}, []string{credFile}
	})
	var notExist config.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &notExist) && implicit && profile == "default":
		return nil, nil // no profile named and no default: not SSO
	case errors.As(err, &notExist):
		return nil, hint.With(fmt.Errorf("profile %q is not in %s or %s", profile, cfgFile, credFile),
			"check the name, or point AWS_CONFIG_FILE at the file that has it")
	case err != nil && strings.Contains(err.Error(), "failed to find SSO session section"):
		// The SDK's wording; say which section and where.
		name := strings.TrimSpace(err.Error()[strings.LastIndex(err.Error(), ",")+1:])
		return nil, hint.With(fmt.Errorf("profile %q uses sso_session %s, but %s has no [sso-session %s] section", profile, name, cfgFile, name),
			"add the section with sso_start_url and sso_region, or fix sso_session in the profile")
	case err != nil:
		return nil, fmt.Errorf("could not read profile %q: %w", profile, err)
	}
	for c := &sc; c != nil; c = c.Source {
		if c.SSOSessionName == "" && c.SSOStartURL == "" && c.SSORegion == "" && c.SSOAccountID == "" && c.SSORoleName == "" {
			continue
		}
		s, err := fromProfile(c, cfgFile)
		if err != nil {
			return nil, err
		}
		s.Profile = profile
		return s, nil
	}
	return nil, nil
}

// fromProfile builds the session of one profile with SSO settings, checking
// them the way the SDK will when it loads credentials.
func fromProfile(c *config.SharedConfig, cfgFile string) (*Session, error) {
	s := &Session{AccountID: c.SSOAccountID, RoleName: c.SSORoleName}
	if c.SSOSessionName != "" {
		ss, err := ResolveSession(c.SSOSessionName)
		if err != nil {
			return nil, err
		}
		for _, k := range []struct{ key, profile, session string }{
			{"sso_start_url", c.SSOStartURL, ss.StartURL},
			{"sso_region", c.SSORegion, ss.Region},
		} {
			if k.profile != "" && k.profile != k.session {
				return nil, hint.With(fmt.Errorf("profile %q sets %s %s, but its [sso-session %s] says %s", c.Profile, k.key, k.profile, ss.Name, k.session),
					"remove %s from the profile (the sso-session section holds it)", k.key)
			}
		}
		ss.AccountID, ss.RoleName = s.AccountID, s.RoleName
		return ss, nil
	}
	s.StartURL, s.Region = c.SSOStartURL, c.SSORegion
	var missing []string
	for _, k := range []struct{ key, val string }{{"sso_start_url", s.StartURL}, {"sso_region", s.Region}} {
		if k.val == "" {
			missing = append(missing, k.key)
		}
	}
	if len(missing) > 0 {
		return nil, hint.With(fmt.Errorf("profile %q in %s uses SSO but has no %s", c.Profile, cfgFile, strings.Join(missing, " or ")),
			"add %s to the profile, or move its SSO settings into an [sso-session NAME] section and set sso_session = NAME", strings.Join(missing, " and "))
	}
	return s, nil
}

// ResolveSession returns the session of the [sso-session NAME] section of
// the shared config file.
func ResolveSession(name string) (*Session, error) {
	name = strings.TrimSpace(name)
	cfgFile, _ := configFiles()
	kv, found, err := ssocache.Section(cfgFile, "sso-session "+name)
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %w", cfgFile, err)
	}
	if !found {
		return nil, hint.With(fmt.Errorf("%s has no [sso-session %s] section", cfgFile, name),
			"add it with sso_start_url and sso_region")
	}
	s := &Session{Name: name, StartURL: kv["sso_start_url"], Region: kv["sso_region"], Scopes: DefaultScopes}
	var missing []string
	for _, k := range []struct{ key, val string }{{"sso_start_url", s.StartURL}, {"sso_region", s.Region}} {
		if k.val == "" {
			missing = append(missing, k.key)
		}
	}
	if len(missing) > 0 {
		return nil, hint.With(fmt.Errorf("[sso-session %s] in %s has no %s", name, cfgFile, strings.Join(missing, " or ")),
			"add %s to the section", strings.Join(missing, " and "))
	}
	if v := kv["sso_registration_scopes"]; v != "" {
		s.Scopes = nil
		for _, sc := range strings.Split(v, ",") {
			if sc = strings.TrimSpace(sc); sc != "" {
				s.Scopes = append(s.Scopes, sc)
			}
		}
	}
	return s, nil
}

// Sessions returns every session the shared config file names: each
// [sso-session NAME] section and the start URL of each legacy profile, once
// each. Sections and profiles that do not resolve are left out.
func Sessions() ([]*Session, error) {
	cfgFile, _ := configFiles()
	names, err := ssocache.SectionNames(cfgFile)
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %w", cfgFile, err)
	}
	var out []*Session
	seen := map[string]bool{}
	for _, sec := range names {
		var s *Session
		switch {
		case strings.HasPrefix(sec, "sso-session "):
			s, _ = ResolveSession(strings.TrimPrefix(sec, "sso-session "))
		case sec == "default" || strings.HasPrefix(sec, "profile "):
			if s, _ = Resolve(strings.TrimPrefix(sec, "profile ")); s != nil && !s.Legacy() {
				s = nil // its sso-session section is listed on its own
			}
		}
		if s != nil && !seen[s.cacheKey()] {
			seen[s.cacheKey()] = true
			s.Profile = ""
			out = append(out, s)
		}
	}
	return out, nil
}

// SameSession reports whether a and b sign in to the same token file.
func SameSession(a, b *Session) bool {
	return a != nil && b != nil && a.cacheKey() == b.cacheKey()
}
