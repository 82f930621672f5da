package cache

import (
	"fmt"
	"strconv"
	"time"
)

// A refresh that failed (STS did not answer in time, was throttled, …)
// while the cached token was still valid is recorded in a small file beside
// the entry's lock: processes that waited on the lock during that refresh
// then serve the valid token at once instead of each trying STS again, so
// a herd of kubectl calls behind one failing refresh makes one attempt.
// Calls that start after the failure try again (see RefreshFailedAt).

func (c *Cache) failedPath(k Key) string { return c.path(k.ID() + ".failed") }

// NoteRefreshFailed records that refreshing k failed at now. Best effort:
// without it, waiters try once more.
func (c *Cache) NoteRefreshFailed(k Key, now time.Time) {
	if c.opts.Backend == None || !c.dirOK {
		return
	}
	_ = writeAtomic(c.failedPath(k), []byte(strconv.FormatInt(now.UnixNano(), 10)))
}

// RefreshFailedAt is when refreshing k last failed (zero when never). Only
// a failure after a caller started matters to it: a later call tries again.
func (c *Cache) RefreshFailedAt(k Key) time.Time {
	if c.opts.Backend == None || !c.dirOK {
		return time.Time{}
	}
	b, err := readPrivate(c.failedPath(k))
	if err != nil {
		return time.Time{}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// WarnEvery prints "kubeiam: warning: TEXT" on the cache's warning writer
// unless a warning of the same cause was printed, by any process using the
// cache directory, within every. It reports whether it printed.
func (c *Cache) WarnEvery(cause string, every time.Duration, format string, args ...any) bool {
	if c.opts.Warn == nil {
		return false
	}
	text := fmt.Sprintf(format, args...)
	st := c.loadState()
	now := c.now()
	if last, ok := st.Warned[cause]; ok && now.Sub(last) < every && !last.After(now) {
		return false
	}
	if st.Warned == nil {
		st.Warned = map[string]time.Time{}
	}
	st.Warned[cause] = now.UTC()
	c.saveState()
	fmt.Fprintf(c.opts.Warn, "kubeiam: warning: %s\n", text)
	return true
}
