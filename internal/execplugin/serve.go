package execplugin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/kubeiam/kubeiam/cache"
)

// MinRemainingEnv overrides how long a cached token must still be valid to
// be handed out (a Go duration such as 90s).
const MinRemainingEnv = "KUBEIAM_CACHE_MIN_REMAINING"

// DefaultMinRemaining leaves kubectl a minute to use a cached token.
const DefaultMinRemaining = 60 * time.Second

// MinRemaining reads KUBEIAM_CACHE_MIN_REMAINING; a bad value is an error
// rather than a silent default, so a typo does not hand out stale tokens.
func MinRemaining(getenv func(string) string) (time.Duration, error) {
	v := getenv(MinRemainingEnv)
	if v == "" {
		return DefaultMinRemaining, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 14*time.Minute {
		return 0, fmt.Errorf("%s=%q is not a duration between 0s and 14m", MinRemainingEnv, v)
	}
	return d, nil
}

// Write prints a token the way the request asks: an ExecCredential in the
// version kubectl asked for, or the bare token.
func Write(w io.Writer, info ExecInfo, tokenOnly bool, token string, expiration time.Time) error {
	if tokenOnly {
		_, err := fmt.Fprintln(w, token)
		return err
	}
	return WriteExecCredential(w, info.APIVersion, token, expiration)
}

// Lookup returns the cached entry for the request when its token can be
// handed out at now (see Expect.Usable), else nil. Cache errors and entries
// that fail the checks are misses: a token can always be made anew, and
// kubeiam-core then writes it over the bad entry.
func Lookup(ctx context.Context, c *cache.Cache, want Expect, now time.Time, minRemaining time.Duration) *cache.Entry {
	e, err := c.Get(ctx, want.Key)
	if err != nil || e == nil || !want.Usable(e, now, minRemaining) {
		return nil
	}
	return e
}
