// Package kubeerr makes client-go's kubeconfig errors safe to print.
//
// When a kubeconfig names two clusters, users, contexts or extensions
// alike, client-go's conversion fails with the whole list printed with %v:
// every entry's fields, tokens and key data included. kubectl prints that
// as it is; kubeiam's errors go to a terminal, to kubectl's stderr and into
// CI logs, so the list is cut off and the error says which name is
// repeated, in which list. Standard library only (a leaf helper).
package kubeerr

import (
	"errors"
	"regexp"
	"strconv"
)

// conversion matches client-go's message, e.g.
//
//	error converting *[]NamedAuthInfo into *map[string]*api.AuthInfo: duplicate name "u" in list: [{u {… token …}}]
//
// (runtime.Scheme's conversion error around the v1 conversion's own). The
// name is printed between quotes as it is (not escaped), so it ends at the
// first `" in list: `; the list runs to the end of the message, and (?s)
// makes `.` take the newlines a value may hold.
var conversion = regexp.MustCompile(`(?s)error converting \*\[\]Named(\w+) into \S+: duplicate name "(.*?)" in list: .*`)

// lists names the kubeconfig list of each client-go type.
var lists = map[string]string{
	"Cluster":   "clusters",
	"AuthInfo":  "users",
	"Context":   "contexts",
	"Extension": "extensions",
}

// Scrub returns err with any dumped kubeconfig list cut out, naming the
// repeated entry instead: `duplicate name "u" in users (each name may
// appear once)`. Any other error is returned as it is.
func Scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	loc := conversion.FindStringSubmatchIndex(msg)
	if loc == nil {
		return err
	}
	kind := msg[loc[2]:loc[3]]
	list, ok := lists[kind]
	if !ok {
		list = "the " + kind + " list"
	}
	clean := msg[:loc[0]] + "duplicate name " + strconv.Quote(msg[loc[4]:loc[5]]) + " in " + list + " (each name may appear once)"
	return &scrubbed{msg: clean}
}

// scrubbed keeps no link to the original error: unwrapping it must not
// lead back to the dump.
type scrubbed struct{ msg string }

func (e *scrubbed) Error() string { return e.msg }

// Is lets callers test for a scrubbed error with errors.Is(err, ErrDuplicate).
func (e *scrubbed) Is(target error) bool { return target == ErrDuplicate }

// ErrDuplicate is what a scrubbed error matches.
var ErrDuplicate = errors.New("duplicate kubeconfig entry name")
