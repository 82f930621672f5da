package execcred

import (
	"fmt"
	"strings"

	"github.com/kubeiam/kubeiam/cache"
)

// SessionKeyEnv=off reads the cache's data key from the keyring on every
// call instead of keeping a copy for the session (cache package).
const SessionKeyEnv = "KUBEIAM_SESSION_KEY"

// SSOLoginEnv opts callers that are not interactive (GUI tools such as Lens
// and Headlamp, which run the plugin without a terminal) into a sign-in in
// the browser: KUBEIAM_SSO_LOGIN=browser (kubeiam-core opens it and waits).
const SSOLoginEnv = "KUBEIAM_SSO_LOGIN"

// CacheOptions are the cache options of a token call for backend b.
func CacheOptions(b cache.Backend, getenv func(string) string) cache.Options {
	off := strings.ToLower(getenv(SessionKeyEnv))
	return cache.Options{Backend: b, NoSessionKey: off == "off" || off == "0" || off == "false"}
}

// CacheNote says, for -v, which backend answered and where its key came from.
func CacheNote(c *cache.Cache) string {
	switch c.KeySource() {
	case "session":
		return "keyring backend, data key held for the session"
	case "keyring":
		if err := c.SessionKeyError(); err != nil {
			return fmt.Sprintf("keyring backend, data key read from the keyring; not held for the session: %v", err)
		}
		return "keyring backend, data key read from the keyring"
	}
	return fmt.Sprintf("%s backend", c.Backend())
}
