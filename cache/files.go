package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// PrivateDir returns DefaultDir after creating it (0700) or checking it: a
// real directory owned by the user.
func PrivateDir() (string, error) {
	dir, err := DefaultDir()
	if err != nil {
		return "", err
	}
	if err := ensureDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// RemoveMatching removes the entries whose key match accepts and returns
// how many it removed. Files the cache does not trust are not read and
// stay (Clear with all removes them).
func (c *Cache) RemoveMatching(ctx context.Context, match func(Key) bool) (int, error) {
	if !c.dirOK {
		return 0, nil
	}
	ids, err := c.entryIDs()
	if err != nil {
		return 0, err
	}
	n, errs := c.removeEntries(ids, func(id string) bool {
		fe, err := c.readEntry(id)
		return err == nil && fe.Key.ID() == id && match(fe.Key)
	})
	if len(errs) > 0 {
		return n, fmt.Errorf("could not remove cache entries: %w", errors.Join(errs...))
	}
	return n, nil
}

// removeEntries removes the entries among ids that remove accepts and
// returns how many went; entries already gone are no error.
func (c *Cache) removeEntries(ids []string, remove func(id string) bool) (int, []error) {
	n := 0
	var errs []error
	for _, id := range ids {
		if !remove(id) {
			continue
		}
		if err := os.Remove(c.entryPath(id)); err != nil {
			if !isNotExist(err) {
				errs = append(errs, err)
			}
			continue
		}
		n++
	}
	return n, errs
}
