package kubeconfig

import (
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/token/sso"
)

// ssoSummary is an SSO sign-in in a few words, for `profile list`:
// "my-sso: expires in 42m, renews silently", "my-sso: not signed in".
func ssoSummary(m sso.Summary, now time.Time) string {
	switch {
	case m.Problem != "":
		return m.Session + ": " + m.Problem
	case !m.SignedIn:
		return m.Session + ": not signed in"
	}
	var s string
	if left := m.ExpiresAt.Sub(now); left > 0 {
		s = m.Session + ": expires in " + roundDuration(left)
	} else {
		s = m.Session + ": expired " + roundDuration(-left) + " ago"
	}
	if m.CanRenew {
		return s + ", renews silently"
	}
	return s + ", then needs a sign-in"
}

func roundDuration(d time.Duration) string {
	if d >= time.Minute {
		return strings.TrimSuffix(d.Truncate(time.Minute).String(), "0s")
	}
	return d.Truncate(time.Second).String()
}
