package execplugin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubeiam/kubeiam/cache"
)

// ServeCached answers a `token` call from the cache, for the front binary.
// It reports false — and has written nothing to w — whenever it cannot
// answer: bad or unusual flags, no cluster ID, caching off, a miss. The full
// binary then handles the call, including every error message, so the two
// never disagree about what is an error.
func ServeCached(ctx context.Context, args []string, getenv func(string) string, w, errOut io.Writer, now time.Time) bool {
	var req Request
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	req.AddFlags(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return false
	}
	req.ClusterIDFrom(getenv)
	if req.ClusterID == "" {
		return false
	}
	info, err := ParseExecInfo(getenv(ExecInfoEnv))
	if err != nil {
		return false
	}
	backend, err := req.Backend(getenv)
	if err != nil || backend == cache.None {
		return false
	}
	minRemaining, err := MinRemaining(getenv)
	if err != nil {
		return false
	}
	c, err := cache.Open(cache.Options{Backend: backend, Warn: errOut})
	if err != nil {
		return false
	}
	e := Lookup(ctx, c, req.Key(getenv), now, minRemaining)
	if e == nil {
		return false
	}
	if req.Verbose {
		fmt.Fprintf(errOut, "kubeiam: cached token (%s backend), valid until %s\n", c.Backend(), e.TokenExpiry.Format(time.RFC3339))
	}
	return Write(w, info, req.TokenOnly, e.Token, e.TokenExpiry) == nil
}
