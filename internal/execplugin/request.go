package execplugin

import "github.com/kubeiam/kubeiam/token/execargs"

// Request is the token call as typed; it lives in the public package
// execargs because kubeconfig.TokenRequest returns it. The alias keeps this
// package's code reading as before.
type Request = execargs.Request

// Environment variables of the plugin (see execargs).
const (
	ClusterIDEnv = execargs.ClusterIDEnv
	CacheEnv     = execargs.CacheEnv
)

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
