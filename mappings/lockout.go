package mappings

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubeiam/kubeiam/internal/text"
)

// MastersGroup is the group the apiserver grants every permission to,
// whatever RBAC says.
const MastersGroup = "system:masters"

// AdminSubjects are the groups and users that hold cluster-admin power:
// system:masters, and whoever a ClusterRoleBinding binds to ClusterRole
// cluster-admin (read from the live cluster when there is one).
type AdminSubjects struct {
	Groups, Users []string
	// Source says where they were read ("group system:masters" without a
	// cluster).
	Source string
}

// DefaultAdminSubjects is what is known without a cluster.
func DefaultAdminSubjects() AdminSubjects {
	return AdminSubjects{Groups: []string{MastersGroup}, Source: "group " + MastersGroup}
}

// IsAdmin tells whether an entry reaches cluster-admin power. A templated
// user name is compared as written: it only matches a binding that names
// the template itself. Accounts never do: the server gives them no groups.
func (a AdminSubjects) IsAdmin(e Mapping) bool {
	if e.Kind == KindAccount {
		return false
	}
	admin := slices.Contains(a.Users, e.Username)
	for _, g := range e.Groups {
		admin = admin || slices.Contains(a.Groups, g)
	}
	return admin
}

// Admins lists the entries of every backend the server reads that reach
// cluster-admin power, as "role ARN → user [groups] (backend, source)".
// Entries not active yet count: the server activates them by itself.
func (ch Chain) Admins(a AdminSubjects) []string {
	var out []string
	for _, b := range ch.Backends {
		for _, e := range b.Entries() {
			if a.IsAdmin(e) {
				out = append(out, fmt.Sprintf("%s (%s, %s)", e, b.Name(), e.Source))
			}
		}
	}
	return out
}

// LockoutError refuses a mapping change that takes cluster-admin power
// from every mapping the server reads, or the caller's own access away.
type LockoutError struct {
	// Before are the admin mappings the change would leave with none.
	Before []string
	// Caller is set when the change drops the command's own identity.
	Caller, CallerMapping string
	// Backends are the server's backends the check counted.
	Backends []string
}

func (e *LockoutError) Error() string {
	if e.Caller != "" {
		return fmt.Sprintf("the change drops your own access: you are %s, mapped by %s, and no entry would map you after it", e.Caller, e.CallerMapping)
	}
	return fmt.Sprintf("after the change no mapping the server reads (%s) would reach cluster-admin; now %s:\n  %s",
		strings.Join(e.Backends, ", "), text.Plural(len(e.Before), "one does", "these do"), strings.Join(e.Before, "\n  "))
}

// LockoutCheck is what a mapping change is checked against: the chains
// before and after it, each holding only the backends the server reads.
type LockoutCheck struct {
	Before, After Chain
	Admins        AdminSubjects
	// Caller is the identity the command itself is mapped as; nil when
	// its credentials are no IAM identity (a certificate, say).
	Caller *Caller
}

// CheckLockout refuses a change after which no mapping reaches
// cluster-admin while one did before, and one that unmaps the caller. It
// returns who would be admin after the change.
func CheckLockout(lc LockoutCheck) ([]string, error) {
	after := lc.After.Admins(lc.Admins)
	if before := lc.Before.Admins(lc.Admins); len(after) == 0 && len(before) > 0 {
		return nil, &LockoutError{Before: before, Backends: lc.After.Modes()}
	}
	if c := lc.Caller; c != nil {
		if was, ok := lc.Before.Match(*c); ok {
			if _, still := lc.After.Match(*c); !still {
				return nil, &LockoutError{Caller: c.ARN, CallerMapping: was.Kind + " " + was.ARN + " (" + was.Backend + ")"}
			}
		}
	}
	return after, nil
}
