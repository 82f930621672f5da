//go:build !unix && !windows

package fsafe

import (
	"context"
	"errors"
	"os"
)

// No cross-process lock here: Lock and Wait fail with
// errors.ErrUnsupported, and the callers go ahead without one (the cost is
// a duplicate refresh).
func tryLock(*os.File, LockMode) (bool, error)           { return false, errors.ErrUnsupported }
func waitLock(context.Context, *os.File, LockMode) error { return errors.ErrUnsupported }
