package execplugin

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// Request is the token call as typed; it lives in the public package
// execargs because kubeconfig.TokenRequest returns it. The alias keeps this
// package's code reading as before.
type Request = execargs.Request

// Environment variables of the plugin (see execargs).
const (
	ClusterIDEnv = execargs.ClusterIDEnv
	CacheEnv     = execargs.CacheEnv
	// SessionKeyEnv=off reads the cache's data key from the keyring on
	// every call instead of keeping a copy for the session (cache package).
	SessionKeyEnv = "KUBEIAM_SESSION_KEY"
)

// CacheOptions are the cache options of a token call for backend b.
func CacheOptions(b cache.Backend, getenv func(string) string) cache.Options {
	off := strings.ToLower(getenv(SessionKeyEnv))
	return cache.Options{Backend: b, NoSessionKey: off == "off" || off == "0" || off == "false"}
}

// FrontAgent is how the front starts the kubeiam agent: kubeiam-core
// (looked for only when one is started), without waiting for it.
func FrontAgent() *cache.AgentCommand {
	return &cache.AgentCommand{Lookup: FindCore, Args: []string{"", "agent"}}
}

// agentWait is how long kubeiam-core waits for an agent it started to
// answer: it runs on a cache miss, which pays an STS round trip anyway, and
// the next kubectl call then finds the agent.
const agentWait = 500 * time.Millisecond

// CoreAgent is how kubeiam-core starts the kubeiam agent: itself, under
// the name it runs as (multi-call test binaries dispatch on argv[0]).
func CoreAgent() *cache.AgentCommand {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return &cache.AgentCommand{Path: exe, Args: []string{os.Args[0], "agent"}, Wait: agentWait}
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

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
