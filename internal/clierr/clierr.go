// Package clierr is the CLI layer's printer of errors: "prog: message", the
// hint line of any error in the chain that has one (package hint's
// convention), and the exit code.
package clierr

import (
	"errors"
	"fmt"
	"io"

	"github.com/kubeiam/kubeiam/internal/hint"
)

// Exit codes, documented in the README.
const (
	ExitError = 1 // the command failed
	ExitUsage = 2 // bad flags or arguments
)

// WithHint attaches a fix to err (a *hint.Error). A nil err stays nil.
// Domain packages use package hint directly; this is the CLI layer's
// shorthand for the same thing.
func WithHint(err error, format string, args ...any) error {
	return hint.With(err, format, args...)
}

// UsageError marks bad flags or arguments (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// KubectlPlugin is how the user runs kubeiam through kubectl.
const KubectlPlugin = hint.KubectlPlugin

// AsTyped rewrites a fix that starts with a kubeiam command for the way the
// user runs kubeiam (see hint.AsTyped).
func AsTyped(prog, fix string) string { return hint.AsTyped(prog, fix) }

// ExitCodeError passes on the exit code of a command kubeiam ran (`kubeiam
// shell CTX -- CMD`): the command has said what it had to, so nothing is
// printed.
type ExitCodeError struct{ Code int }

func (e *ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Print writes err as "prog: message" plus an optional "hint: ..." line and
// returns the exit code for it.
func Print(w io.Writer, prog string, err error) int {
	var x *ExitCodeError
	if errors.As(err, &x) {
		return x.Code
	}
	// One convention for hints: any error in the chain with a Hint method
	// (hint.Error, deadline.NetError, the bundle's typed errors).
	hint.Write(w, prog, err)
	var u *UsageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitError
}
