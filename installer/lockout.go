package installer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/mappings"
)

// lister is the part of a live client that lists objects; the installer's
// fakes need not have it.
type lister interface {
	List(ctx context.Context, kind, namespace string) ([]*unstructured.Unstructured, error)
}

// ReadAdminSubjects adds the subjects of every ClusterRoleBinding to
// ClusterRole cluster-admin to system:masters.
func ReadAdminSubjects(ctx context.Context, c Client) (mappings.AdminSubjects, error) {
	a := mappings.DefaultAdminSubjects()
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
	a.Source = "group " + mappings.MastersGroup + " and the subjects of ClusterRole cluster-admin's bindings"
	return a, nil
}

// selfReviewer is the part of a live client that asks who it is.
type selfReviewer interface {
	SelfSubjectReview(ctx context.Context) (*unstructured.Unstructured, error)
}

// CallerOf asks the cluster who the client is (SelfSubjectReview) and,
// when the authenticator server mapped it, returns the IAM identity the
// server saw (it puts arn, canonicalArn, sessionName and accessKeyId in
// the user's extra). nil when the client is no IAM identity.
func CallerOf(ctx context.Context, c Client) (*mappings.Caller, error) {
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
	caller, err := mappings.CallerOfARN(first("arn"))
	if err != nil {
		return nil, nil
	}
	caller.CanonicalARN, caller.SessionName, caller.AccessKeyID = first("canonicalArn"), first("sessionName"), first("accessKeyId")
	caller.SessionUnknown = false
	return &caller, nil
}
