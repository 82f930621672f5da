package front

import (
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/execcred"
	"github.com/kubeiam/kubeiam/internal/hint"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/execargs"
	"github.com/kubeiam/kubeiam/token/sso/ssocache"
)

// ssoSignInNeeded returns the error kubeiam-core would return for req, when
// the files alone show it: the credentials come from an SSO profile whose
// session has expired and cannot be renewed, the entry holds no credentials
// that could sign instead, and nobody can sign in — kubectl gave the plugin
// no terminal and KUBEIAM_SSO_LOGIN is unset. It makes no network call and
// costs a few file reads, where starting kubeiam-core to say the same costs
// several process starts. nil whenever the core must decide.
func ssoSignInNeeded(req *execargs.Request, info execcred.ExecInfo, getenv func(string) string, e *cache.Entry, now time.Time, minRemaining time.Duration, prog string) error {
	if !info.FromKubectl || info.Interactive || req.Verbose || getenv(execcred.SSOLoginEnv) != "" {
		return nil
	}
	// Cached credentials that are still good sign without the session (the
	// core's rule).
	if e != nil && e.CredentialsValid(now, max(minRemaining+time.Minute, token.MinCredentialLife)) {
		return nil
	}
	// A region the core would refuse is the core's to report first.
	if region := firstNonEmpty(req.Region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")); region != "" {
		if _, err := token.EndpointFor(region, req.STSGlobal, req.FIPS); err != nil {
			return nil
		}
	}
	s, ok := ssocache.LookUp(req.Profile, getenv, now)
	if !ok || s.State != ssocache.NeedsLogin {
		return nil
	}
	return s.Err(hint.LoginCommand(prog, req.Profile))
}
