package ssocache

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// SignIn is what the files say of the SSO session a profile signs in with.
type SignIn struct {
	// Session names it for messages: `SSO session "my-sso"`, or
	// `SSO start URL https://…` for a legacy profile.
	Session string
	// SignedIn: the session has a token file.
	SignedIn bool
	// State is the token's at the time asked (NeedsLogin when not signed in).
	State State
}

// Err is the one-line error of a caller that needs this sign-in and cannot
// sign in itself (nobody at a terminal): login is the command to run, as the
// user types it.
func (s SignIn) Err(login string) error {
	state := "has expired"
	if !s.SignedIn {
		state = "is not signed in"
	}
	return fmt.Errorf("%s %s; run: %s", s.Session, state, login)
}

// keysBeforeSSO are the profile keys with which the AWS SDK gets credentials
// some other way, or through another profile, before (or instead of) the
// profile's own SSO settings.
var keysBeforeSSO = []string{"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "role_arn",
	"source_profile", "credential_source", "credential_process", "web_identity_token_file", "login_session"}

// LookUp tells, from the shared config file and the session's token file
// only, the sign-in that credentials for profile depend on, when it can tell
// for certain: ok is false whenever the answer rests on rules only the AWS
// SDK applies — keys or a web identity token in the environment (without a
// profile named), a profile that gets credentials another way or through
// another profile, a section of that name in the credentials file, settings
// that do not agree, a file it cannot read — and the caller must ask the SDK.
// getenv is the environment the credentials would be loaded in.
func LookUp(profile string, getenv func(string) string, now time.Time) (s SignIn, ok bool) {
	profile, fromProfile := CredentialProfile(profile, getenv)
	if !fromProfile {
		return SignIn{}, false
	}
	profile = cmp.Or(profile, "default")
	home, _ := os.UserHomeDir()
	cfgFile := cmp.Or(getenv("AWS_CONFIG_FILE"), filepath.Join(home, ".aws", "config"))
	credFile := cmp.Or(getenv("AWS_SHARED_CREDENTIALS_FILE"), filepath.Join(home, ".aws", "credentials"))
	if home == "" && (getenv("AWS_CONFIG_FILE") == "" || getenv("AWS_SHARED_CREDENTIALS_FILE") == "") {
		return SignIn{}, false
	}
	if _, found, err := Section(credFile, profile); err != nil || found {
		return SignIn{}, false
	}
	kv, found, err := Section(cfgFile, "profile "+profile)
	if profile == "default" {
		plain, foundPlain, err2 := Section(cfgFile, "default")
		if err2 != nil || (found && foundPlain) {
			return SignIn{}, false
		}
		if foundPlain {
			kv, found = plain, true
		}
	}
	if err != nil || !found {
		return SignIn{}, false
	}
	for _, k := range keysBeforeSSO {
		if _, set := kv[k]; set {
			return SignIn{}, false
		}
	}
	key := ""
	if name := kv["sso_session"]; name != "" {
		sess, found, err := Section(cfgFile, "sso-session "+name)
		if err != nil || !found || sess["sso_start_url"] == "" || sess["sso_region"] == "" ||
			!agrees(kv["sso_start_url"], sess["sso_start_url"]) || !agrees(kv["sso_region"], sess["sso_region"]) {
			return SignIn{}, false
		}
		key, s.Session = name, fmt.Sprintf("SSO session %q", name)
	} else {
		if kv["sso_start_url"] == "" || kv["sso_region"] == "" || kv["sso_account_id"] == "" || kv["sso_role_name"] == "" {
			return SignIn{}, false
		}
		key, s.Session = kv["sso_start_url"], "SSO start URL "+kv["sso_start_url"]
	}
	path, err := Path(key)
	if err != nil {
		return SignIn{}, false
	}
	b, err := fsafe.ReadFile(path, fsafe.SmallFile, fsafe.Tighten)
	if errors.Is(err, fs.ErrNotExist) {
		return s, true
	}
	if err != nil {
		return SignIn{}, false
	}
	tok, err := Parse(b)
	if err != nil {
		return SignIn{}, false
	}
	s.SignedIn, s.State = true, tok.State(now)
	return s, true
}

func agrees(profileValue, sessionValue string) bool {
	return profileValue == "" || profileValue == sessionValue
}

// CredentialProfile is the profile credentials for profile are loaded with,
// in the AWS SDK's order: a profile named explicitly wins; without one, keys
// or a web identity token in the environment win over AWS_PROFILE (then
// AWS_DEFAULT_PROFILE, then the default profile, returned as ""), and
// fromProfile is false. getenv is the environment the credentials are
// loaded in.
func CredentialProfile(profile string, getenv func(string) string) (name string, fromProfile bool) {
	if profile != "" {
		return profile, true
	}
	if (getenv("AWS_ACCESS_KEY_ID") != "" && getenv("AWS_SECRET_ACCESS_KEY") != "") || getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" {
		return "", false
	}
	return cmp.Or(getenv("AWS_PROFILE"), getenv("AWS_DEFAULT_PROFILE")), true
}
