// Package input checks values that kubeiam writes into files (kubeconfigs,
// cluster specs) or sends to AWS, before anything is written or sent. A
// newline in a profile name would otherwise end up in a kubeconfig, where
// `kubeiam profile list` prints it as a forged row; a carriage return or a
// bidirectional override rewrites what a terminal shows. It links only the
// standard library and pflag, so the small front binary can use it too.
package input

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"
)

// Error says which flag (or field) holds a value that cannot be used and why.
type Error struct {
	// Name is the flag as typed ("--profile") or a field path.
	Name   string
	Value  string
	Reason string
	// Secret keeps the value out of the message (env values, tokens).
	Secret bool
}

func (e *Error) Error() string {
	if e.Secret {
		return fmt.Sprintf("invalid %s (value not shown): %s", e.Name, e.Reason)
	}
	return fmt.Sprintf("invalid %s %s: %s", e.Name, quote(e.Value), e.Reason)
}

// Invalid names the flag in err, an error from a parser that does not know
// which flag its input came from.
func Invalid(name, value string, err error) error {
	return &Error{Name: name, Value: value, Reason: err.Error()}
}

// Display is s for a terminal: as it is when Text accepts it, else quoted
// with every control character escaped, so a value read from a file cannot
// forge rows or rewrite the screen.
func Display(s string) string {
	if Text("", s) == nil {
		return s
	}
	return fmt.Sprintf("%+q", s)
}

// quote shows a value with every control and invisible character escaped,
// so the message itself cannot be forged by the value; long values are cut.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%+q…", s[:cut])
	}
	return fmt.Sprintf("%+q", s)
}

// Text refuses what must never be written into a kubeconfig or a spec:
// invalid UTF-8, the C0 and C1 control characters (tab, newline, carriage
// return, NUL, escape, NEL …) and DEL, the Unicode line and paragraph
// separators (U+2028, U+2029: line breaks to JavaScript, YAML 1.1 and some
// terminals), and the bidirectional controls that reorder displayed text
// (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069). name is the flag as the
// user typed it.
func Text(name, value string) error {
	if !utf8.ValidString(value) {
		return &Error{Name: name, Value: value, Reason: "not valid UTF-8"}
	}
	for _, r := range value {
		if what := forbidden(r); what != "" {
			return &Error{Name: name, Value: value, Reason: fmt.Sprintf("contains %s (U+%04X)", what, r)}
		}
	}
	return nil
}

func forbidden(r rune) string {
	switch {
	case r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
		return "a line break"
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return "a control character"
	case r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
		return "a bidirectional text control"
	}
	return ""
}

// Env checks one NAME=VALUE environment entry for an exec block; the
// message names the variable and never shows the value, which may be a
// secret.
func Env(name, kv string) error {
	k, _, _ := strings.Cut(kv, "=")
	if err := Text(name, kv); err != nil {
		e := err.(*Error)
		e.Name, e.Secret = name+" "+quote(k), true
		return e
	}
	return nil
}

// secretFlags hold values that must not be echoed in an error: exec env
// entries, tokens, external IDs.
var secretFlags = map[string]bool{"env": true, "token": true, "external-id": true}

// FreeText is the annotation that exempts a flag from CheckFlags: its value
// is an expression or a document, never written into a file (yq's --query
// may span lines).
const FreeText = "kubeiam/free-text"

// CheckFlags runs Text over every string flag the user set on fs (string,
// stringArray and stringSlice alike), so no verb, present or future, takes
// a control character from the command line. The error names the flag.
func CheckFlags(fs *pflag.FlagSet) error {
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if err != nil || f.Annotations[FreeText] != nil {
			return
		}
		var values []string
		switch sv := f.Value.(type) {
		case pflag.SliceValue:
			values = sv.GetSlice()
		default:
			if f.Value.Type() != "string" {
				return
			}
			values = []string{f.Value.String()}
		}
		for _, v := range values {
			if err = Text("--"+f.Name, v); err != nil {
				err.(*Error).Secret = secretFlags[f.Name]
				return
			}
		}
	})
	return err
}

// ClusterID accepts what aws-iam-authenticator accepts as a cluster ID: any
// non-empty string (a UUID on EKS Anywhere, the cluster name on EKS) without
// whitespace, which would only come from a copy-paste accident, and without
// what Text refuses. The ID travels in a signed HTTP header and is written
// into kubeconfigs and the server's config.yaml.
func ClusterID(name, id string) error {
	if id == "" {
		return fmt.Errorf("%s is empty", name)
	}
	if err := Text(name, id); err != nil {
		return err
	}
	if strings.ContainsRune(id, ' ') {
		return &Error{Name: name, Value: id, Reason: "contains whitespace"}
	}
	return nil
}
