package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"

	"github.com/kubeiam/kubeiam/token/sso"
)

// checkSignIn reports the sign-in the profile's credentials depend on, from
// files only: the IAM Identity Center (SSO) session — when its token
// expires and whether kubeiam renews it without a person — or the AWS
// CLI's `aws login` session (login_session), whose cache the AWS SDK reads.
// Profiles that sign in neither way add no line. It returns the session
// when credentials cannot be loaded until someone signs in.
func checkSignIn(ctx context.Context, rep *Report, opts *Options, tgt *target) string {
	profile := profileOf(tgt)
	s, err := sso.ForProfile(profile, tgt.getenv)
	if err != nil {
		rep.failErr("sso", err, "fix the profile's SSO settings in "+configFileName(tgt.getenv))
		return "the profile"
	}
	if s != nil {
		if !checkSSO(rep, opts, s, profile) {
			return s.String()
		}
		return ""
	}
	if profile == "" {
		profile = "default"
	}
	sc, err := config.LoadSharedConfigProfile(ctx, profile)
	if err != nil || sc.LoginSession == "" {
		return "" // doctor's credentials line explains a profile that does not load
	}
	if !checkLoginSession(rep, opts, profile, sc.LoginSession, tgt.getenv) {
		return "the `aws login` session"
	}
	return ""
}

// checkSSO reports the session's sign-in and whether credentials can be
// had from it without a person.
func checkSSO(rep *Report, opts *Options, s *sso.Session, profile string) bool {
	now := opts.Now()
	sum := s.Describe(now)
	login := "kubeiam login"
	if profile != "" {
		login += " --profile " + profile
	}
	switch {
	case sum.Problem != "":
		rep.fail("sso", login, "%s: %s", s, sum.Problem)
		return false
	case !sum.SignedIn:
		rep.warn("sso", login, "%s (start URL %s, region %s): not signed in; an interactive kubectl signs in when it needs to", s, s.StartURL, s.Region)
		return false
	case sum.ExpiresAt.After(now.Add(sso.RenewBefore)):
		rep.ok("sso", "%s (start URL %s, region %s): signed in until %s (%s left), %s", s, s.StartURL, s.Region,
			sum.ExpiresAt.UTC().Format(time.RFC3339), shortDuration(sum.ExpiresAt.Sub(now).Truncate(time.Minute)), renewNote(sum))
	case sum.CanRenew:
		rep.ok("sso", "%s: the token expires at %s; the next kubeiam token renews it without a sign-in", s, sum.ExpiresAt.UTC().Format(time.RFC3339))
	default:
		rep.warn("sso", login, "%s: the token expired at %s and cannot be renewed without a sign-in; an interactive kubectl signs in, others fail",
			s, sum.ExpiresAt.UTC().Format(time.RFC3339))
		return false
	}
	return true
}

func renewNote(sum sso.Summary) string {
	if sum.CanRenew {
		return "then renewed silently (refresh token and client registration valid)"
	}
	return "then a sign-in is needed (no refresh token or the client registration expired)"
}

// checkLoginSession reports an `aws login` session: the AWS SDK refreshes it
// on its own; kubeiam cannot start one. It reports whether credentials can
// be had from it.
func checkLoginSession(rep *Report, opts *Options, profile, session string, getenv func(string) string) bool {
	path, err := logincreds.StandardCachedTokenFilepath(session, getenv("AWS_LOGIN_CACHE_DIRECTORY"))
	if err != nil {
		rep.failErr("login", err, "")
		return false
	}
	fix := "aws login --profile " + profile
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		rep.warn("login", fix, "profile %s uses `aws login` (login_session %s): not signed in (no %s)", profile, session, path)
		return false
	}
	var tok struct {
		AccessToken *struct {
			ExpiresAt time.Time `json:"expiresAt"`
		} `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	if err == nil {
		err = json.Unmarshal(b, &tok)
	}
	if err != nil || tok.AccessToken == nil {
		if err == nil {
			err = errors.New("no accessToken")
		}
		rep.fail("login", fix, "profile %s uses `aws login` (login_session %s): %s cannot be read: %v", profile, session, path, err)
		return false
	}
	renew := "the AWS SDK refreshes it with its refresh token"
	if tok.RefreshToken == "" {
		renew = "no refresh token: sign in again then"
	}
	exp := tok.AccessToken.ExpiresAt
	rep.ok("login", "profile %s uses `aws login` (login_session %s): credentials until %s; %s", profile, session, exp.UTC().Format(time.RFC3339), renew)
	return true
}

func configFileName(getenv func(string) string) string {
	if f := getenv("AWS_CONFIG_FILE"); f != "" {
		return f
	}
	return "~/.aws/config"
}
