// Package hint is the one convention for an error that knows how the user
// can fix it: a typed error with a Hint method. Domain packages (token,
// token/chain, cache, eks, bundle) return such errors where the error is
// born, since only they know the cause; the CLI layer (internal/clierr)
// prints the hint line and never guesses it. It is a leaf: it imports
// nothing of kubeiam, so any package may use it without reaching up.
package hint

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Kind says what happened, for callers that branch on it (serve a still
// valid token on a network failure, but not on a denial) and for tests.
type Kind int

const (
	Other     Kind = iota
	Network        // no answer, refused, reset, a proxy that failed, a garbled answer
	Throttled      // the service asked to slow down and retries did not get through
	Denied         // the service refused the caller (access denied, bad signature)
	Expired        // the credentials or token are expired
	Missing        // no credentials anywhere in the chain
	Config         // a setting is wrong (profile, region, file)
)

func (k Kind) String() string {
	switch k {
	case Network:
		return "network"
	case Throttled:
		return "throttled"
	case Denied:
		return "denied"
	case Expired:
		return "expired"
	case Missing:
		return "missing"
	case Config:
		return "config"
	}
	return "other"
}

// Error is an error with a line telling the user how to fix it, and what
// kind of failure it is.
type Error struct {
	Err  error
	Fix  string
	Kind Kind
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Hint is the fix, printed by the CLI as "hint: …".
func (e *Error) Hint() string { return e.Fix }

// With attaches a fix to err. A nil err stays nil.
func With(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Fix: fmt.Sprintf(format, args...)}
}

// New is With for a kind of failure.
func New(kind Kind, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Fix: fmt.Sprintf(format, args...), Kind: kind}
}

// Of returns the first hint in err's chain ("" when none): an *Error's or
// any other error's with a Hint method.
func Of(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// KindOf returns the kind of the first classified error in err's chain:
// an *Error with a kind, or an error with a Kind() Kind method (a network
// failure from internal/deadline is one).
func KindOf(err error) Kind {
	for e := err; e != nil; {
		switch x := e.(type) {
		case *Error:
			if x.Kind != Other {
				return x.Kind
			}
		case interface{ Kind() Kind }:
			return x.Kind()
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, ee := range u.Unwrap() {
				if k := KindOf(ee); k != Other {
					return k
				}
			}
			return Other
		default:
			return Other
		}
	}
	return Other
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

// Write prints err as "prog: message" plus, when err's chain has a hint, a
// "hint: ..." line naming commands as the user types them (AsTyped). The
// CLI layer (clierr.Print) and the front both print errors with it, so the
// two binaries say an error the same way.
func Write(w io.Writer, prog string, err error) {
	fmt.Fprintf(w, "%s: %s\n", prog, err)
	if h := Of(err); h != "" {
		fmt.Fprintf(w, "hint: %s\n", AsTyped(prog, h))
	}
}

// LoginCommand is the command that signs in for profile ("" when the
// profile comes from AWS_PROFILE or is the default one), named as the user
// runs kubeiam (prog: "kubeiam", "kubectl iam", …).
func LoginCommand(prog, profile string) string {
	cmd := AsTyped(prog, "kubeiam login")
	if profile != "" {
		cmd += " --profile " + profile
	}
	return cmd
}
