// Package clierr carries the few facts about an error that the top-level
// printer needs: a hint line for the user and the exit code.
package clierr

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes, documented in the README.
const (
	ExitError = 1 // the command failed
	ExitUsage = 2 // bad flags or arguments
)

// HintError is an error with a line telling the user how to fix it.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHint attaches a fix to err. A nil err stays nil.
func WithHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: fmt.Sprintf(format, args...)}
}

// UsageError marks bad flags or arguments (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// KubectlPlugin is how the user runs kubeiam through kubectl (krew installs
// it as kubectl-iam).
const KubectlPlugin = "kubectl iam"

// AsTyped rewrites a fix that starts with a kubeiam command for the way the
// user runs kubeiam: under kubectl, "kubeiam use CTX" is "kubectl iam use
// CTX". Other mentions of kubeiam in the text (the binary's name) stay.
func AsTyped(prog, fix string) string {
	if prog == KubectlPlugin && strings.HasPrefix(fix, "kubeiam ") {
		return KubectlPlugin + strings.TrimPrefix(fix, "kubeiam")
	}
	return fix
}

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
	fmt.Fprintf(w, "%s: %s\n", prog, err)
	var h *HintError
	if errors.As(err, &h) && h.Hint != "" {
		fmt.Fprintf(w, "hint: %s\n", AsTyped(prog, h.Hint))
	}
	var u *UsageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitError
}
