//go:build !unix && !windows

package fsafe

import (
	"context"
	"errors"
	"os"
)

// No cross-process lock here: callers that can go ahead without one (the
// cache) check errors.ErrUnsupported.
func tryLock(*os.File, LockMode) (bool, error)           { return false, errors.ErrUnsupported }
func unlock(*os.File) error                              { return errors.ErrUnsupported }
func waitLock(context.Context, *os.File, LockMode) error { return errors.ErrUnsupported }
