package execcred

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/text"
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

// StaleMin is how long a cached token due for renewal must still be valid
// to be served when the renewal fails: kubectl needs a little time to use
// it.
func StaleMin(minRemaining time.Duration) time.Duration {
	return min(minRemaining, staleMin)
}

const (
	staleMin = 10 * time.Second
	// staleWarnEvery rate-limits the warning about serving a token that
	// could not be renewed: one a minute per entry, across processes.
	staleWarnEvery = time.Minute
)

// WarnStale says, at most once a minute per entry, that e is served as it
// is because its renewal failed (err; nil when another process's renewal
// failed while this one waited).
func WarnStale(c *cache.Cache, e *cache.Entry, err error, now time.Time) {
	why := "another kubeiam process could not renew it just now"
	if err != nil {
		why = text.OneLine(err.Error())
	}
	c.WarnEvery("stale:"+e.Key.ID(), staleWarnEvery, "could not renew the cached token (%s); using it as it is, valid until %s (%s left)",
		why, e.TokenExpiry.UTC().Format(time.RFC3339), e.TokenExpiry.Sub(now).Round(time.Second))
}
