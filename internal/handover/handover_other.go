//go:build !unix

package handover

import (
	"context"
	"errors"
	"os"
	"time"
)

// Without exec(2) there is no lock to hand over: kubeiam-core locks itself.
const Supported = false

// HeldLockEnv: see handover_unix.go; never set here.
const HeldLockEnv = "KUBEIAM_HELD_LOCK"

func HoldLock(context.Context, *os.File, time.Duration, func() bool) (*os.File, bool, error) {
	return nil, false, errors.New("not supported")
}

func HandOver(*os.File, string) error { return errors.New("not supported") }

// AdoptLock never finds a handed-over lock here.
func AdoptLock(string) (func(), bool) { return nil, false }
