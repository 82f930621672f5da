package installer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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
	// Source says where they were read ("system:masters only" without a
	// cluster).
	Source string
}

// DefaultAdminSubjects is what is known without a cluster.
func DefaultAdminSubjects() AdminSubjects {
	return AdminSubjects{Groups: []string{MastersGroup}, Source: "group " + MastersGroup}
}

// lister is the part of a live client that lists objects; the installer's
// fakes need not have it.
type lister interface {
	List(ctx context.Context, kind, namespace string) ([]*unstructured.Unstructured, error)
}

// ReadAdminSubjects adds the subjects of every ClusterRoleBinding to
// ClusterRole cluster-admin to system:masters.
func ReadAdminSubjects(ctx context.Context, c Client) (AdminSubjects, error) {
	a := DefaultAdminSubjects()
	l, ok := c.(lister)
	if !ok {
		return a, nil
	}
	crbs, err := l.List(ctx, "ClusterRoleBinding", "")
	if err != nil {
		return a, fmt.Errorf("could not list who is bound to cluster-admin: %w", err)
	}
	for _, b := range crbs {
		kind, _, _ := unstructured.NestedString(b.Object, "roleRef", "kind")
		name, _, _ := unstructured.NestedString(b.Object, "roleRef", "name")
		if kind != "ClusterRole" || name != "cluster-admin" {
			continue
		}
		subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
		for _, s := range subjects {
			m, _ := s.(map[string]any)
			n, _ := m["name"].(string)
			switch m["kind"] {
			case "Group":
				if !slices.Contains(a.Groups, n) {
					a.Groups = append(a.Groups, n)
				}
			case "User":
				a.Users = append(a.Users, n)
			}
		}
	}
	a.Source = "group " + MastersGroup + " and the subjects of ClusterRole cluster-admin's bindings"
	return a, nil
}

// Admins lists the mappings that reach cluster-admin power, as
// "role ARN → user [groups]". A templated user name is compared as
// written: it only matches a binding that names the template itself.
func (m Mappings) Admins(a AdminSubjects) []string {
	var out []string
	for _, k := range sortedKeys(m.entries) {
		e := m.entries[k]
		if e.kind == "account" {
			continue // the server gives account entries no groups
		}
		admin := slices.Contains(a.Users, e.username)
		for _, g := range e.groups {
			admin = admin || slices.Contains(a.Groups, g)
		}
		if admin {
			out = append(out, e.String())
		}
	}
	return out
}

// LockoutError refuses a mapping change that takes cluster-admin power
// from every mapping, or the caller's own access away.
type LockoutError struct {
	// Before are the admin mappings the change would leave with none.
	Before []string
	// Caller is set when the change drops the command's own identity.
	Caller, CallerMapping string
}

func (e *LockoutError) Error() string {
	if e.Caller != "" {
		return fmt.Sprintf("the change drops your own access: you are %s, mapped by %s, and no entry would map you after it", e.Caller, e.CallerMapping)
	}
	return fmt.Sprintf("after the change no mapping would reach cluster-admin; now %s:\n  %s",
		text.Plural(len(e.Before), "one does", "these do"), strings.Join(e.Before, "\n  "))
}

// LockoutCheck is what a mapping change is checked against.
type LockoutCheck struct {
	Before, After Mappings
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
		return nil, &LockoutError{Before: before}
	}
	if c := lc.Caller; c != nil {
		if was, ok := lc.Before.Match(*c); ok {
			if _, still := lc.After.Match(*c); !still {
				return nil, &LockoutError{Caller: c.ARN, CallerMapping: was.Kind + " " + was.ARN}
			}
		}
	}
	return after, nil
}

// selfReviewer is the part of a live client that asks who it is.
type selfReviewer interface {
	SelfSubjectReview(ctx context.Context) (*unstructured.Unstructured, error)
}

// CallerOf asks the cluster who the client is (SelfSubjectReview) and,
// when the authenticator server mapped it, returns the IAM identity the
// server saw (it puts arn, canonicalArn, sessionName and accessKeyId in
// the user's extra). nil when the client is no IAM identity.
func CallerOf(ctx context.Context, c Client) (*Caller, error) {
	r, ok := c.(selfReviewer)
	if !ok {
		return nil, nil
	}
	u, err := r.SelfSubjectReview(ctx)
	if err != nil || u == nil {
		return nil, err
	}
	extra, _, _ := unstructured.NestedMap(u.Object, "status", "userInfo", "extra")
	first := func(k string) string {
		for ek, ev := range extra {
			// Some paths lower-case extra keys (impersonation does).
			if v, _ := ev.([]any); strings.EqualFold(ek, k) && len(v) > 0 {
				s, _ := v[0].(string)
				return s
			}
		}
		return ""
	}
	if first("arn") == "" || first("canonicalArn") == "" {
		return nil, nil
	}
	caller, err := CallerOfARN(first("arn"))
	if err != nil {
		return nil, nil
	}
	caller.CanonicalARN, caller.SessionName, caller.AccessKeyID = first("canonicalArn"), first("sessionName"), first("accessKeyId")
	caller.SessionUnknown = false
	return &caller, nil
}

// DescribeAdmins says who reaches cluster-admin through a mapping after a
// change, or that nobody does, one line each.
func DescribeAdmins(admins []string, source string) string {
	if len(admins) == 0 {
		return fmt.Sprintf("cluster-admin after the change: no mapping (judged by %s)\n", source)
	}
	return fmt.Sprintf("cluster-admin after the change (judged by %s):\n  %s\n", source, strings.Join(admins, "\n  "))
}
