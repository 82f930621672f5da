package installer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/mappings"
)

// liveFake adds what a live client has beyond Get and Apply: bindings to
// list and an identity to report.
type liveFake struct {
	*fakeClient
	crbs []*unstructured.Unstructured
	me   map[string]any // status.userInfo of a SelfSubjectReview
}

func (f *liveFake) List(ctx context.Context, kind, ns string) ([]*unstructured.Unstructured, error) {
	if kind != "ClusterRoleBinding" {
		return f.fakeClient.List(ctx, kind, ns)
	}
	return f.crbs, nil
}

func (f *liveFake) SelfSubjectReview(context.Context) (*unstructured.Unstructured, error) {
	return &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"userInfo": f.me}}}, nil
}

func crb(role string, subjects ...map[string]any) *unstructured.Unstructured {
	s := make([]any, len(subjects))
	for i := range subjects {
		s[i] = subjects[i]
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"roleRef": map[string]any{"kind": "ClusterRole", "name": role}, "subjects": s}}
}

// TestSyncLockout: removing the last system:masters mapping is refused and
// changes nothing, --allow-lockout applies it; removing one of two admins
// passes and says who is left; a group bound to cluster-admin counts.
func TestSyncLockout(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	if _, err := Install(ctx, f, seedSpec(t), Options{Image: "img", ClusterID: "id"}); err != nil {
		t.Fatal(err)
	}
	// One of two admins.
	s := seedSpec(t)
	s.Config.MapUsers = nil
	res, err := Sync(ctx, f, s, Options{})
	if err != nil || len(res.Admins) != 1 || !strings.HasPrefix(res.Admins[0], "role arn:aws:iam::111122223333:role/myRole") {
		t.Fatalf("one of two admins: %+v %v", res, err)
	}
	// The last one.
	n := f.applies
	s.Config.MapRoles[0].Groups = []string{"viewers"}
	_, err = Sync(ctx, f, s, Options{})
	var le *mappings.LockoutError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "after the change no mapping the server reads (EKSConfigMap) would reach cluster-admin; now one does:\n  role arn:aws:iam::111122223333:role/myRole") {
		t.Fatalf("last admin: %v", err)
	}
	if f.applies != n {
		t.Fatal("a refused sync applied")
	}
	// A group bound to cluster-admin on the cluster is admin power too.
	live := &liveFake{fakeClient: f, crbs: []*unstructured.Unstructured{
		crb("view", map[string]any{"kind": "Group", "name": "ops"}),
		crb("cluster-admin", map[string]any{"kind": "Group", "name": "viewers"}),
	}}
	if res, err = Sync(ctx, live, s, Options{}); err != nil || len(res.Admins) != 1 || !strings.Contains(res.AdminSource, "cluster-admin") {
		t.Fatalf("group bound to cluster-admin: %+v %v", res, err)
	}
	// --allow-lockout applies and says nobody is admin.
	s.Config.MapRoles[0].Groups = []string{"ops"}
	if res, err = Sync(ctx, live, s, Options{AllowLockout: true}); err != nil || len(res.Admins) != 0 {
		t.Fatalf("--allow-lockout: %+v %v", res, err)
	}
}

// TestSyncKeepsCallersAccess: when the command's own identity is mapped
// (the server's extra in a SelfSubjectReview), a change that unmaps it is
// refused even though others stay admin.
func TestSyncKeepsCallersAccess(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	if _, err := Install(ctx, f, seedSpec(t), Options{Image: "img", ClusterID: "id"}); err != nil {
		t.Fatal(err)
	}
	live := &liveFake{fakeClient: f, me: map[string]any{"username": "myKubernetesUsername", "extra": map[string]any{
		"arn":          []any{"arn:aws:iam::111122223333:user/myUser"},
		"canonicalArn": []any{"arn:aws:iam::111122223333:user/myUser"},
	}}}
	s := seedSpec(t)
	s.Config.MapUsers = nil
	_, err := Sync(ctx, live, s, Options{})
	if !errors.As(err, new(*mappings.LockoutError)) || !strings.Contains(err.Error(), "the change drops your own access: you are arn:aws:iam::111122223333:user/myUser, mapped by user arn:aws:iam::111122223333:user/myUser (EKSConfigMap)") {
		t.Fatalf("own access: %v", err)
	}
	// A certificate user (no IAM extra) is not checked.
	live.me = map[string]any{"username": "kubernetes-admin", "groups": []any{"system:masters"}}
	if _, err := Sync(ctx, live, s, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestSyncLockoutCountsUsersBoundToClusterAdmin: a mapping whose username
// a ClusterRoleBinding to cluster-admin names is admin power as much as a
// group is. Dropping the last such mapping is refused; while another
// mapping keeps that user, the change passes and says who is left.
func TestSyncLockoutCountsUsersBoundToClusterAdmin(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	s := seedSpec(t)
	// No group of the seed reaches cluster-admin: only the user binding can.
	s.Config.MapRoles[0].Groups = []string{"viewers"}
	s.Config.MapRoles[0].Username = "ops-admin"
	s.Config.MapUsers[0].Groups = []string{"viewers"}
	if _, err := Install(ctx, f, s, Options{Image: "img", ClusterID: "id"}); err != nil {
		t.Fatal(err)
	}
	live := &liveFake{fakeClient: f, crbs: []*unstructured.Unstructured{
		crb("view", map[string]any{"kind": "User", "name": "myKubernetesUsername"}),
		crb("cluster-admin", map[string]any{"kind": "User", "name": "ops-admin"}),
	}}
	a, err := ReadAdminSubjects(ctx, live)
	if err != nil || len(a.Users) != 1 || a.Users[0] != "ops-admin" {
		t.Fatalf("admin subjects %+v %v, want user ops-admin", a, err)
	}

	// The role mapped as ops-admin goes: nobody would be admin.
	drop := seedSpec(t)
	drop.Config.MapRoles = nil
	drop.Config.MapUsers[0].Groups = []string{"viewers"}
	n := f.applies
	_, err = Sync(ctx, live, drop, Options{})
	var le *mappings.LockoutError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "now one does:\n  role arn:aws:iam::111122223333:role/myRole → ops-admin") {
		t.Fatalf("dropping the only mapping to a user bound to cluster-admin: %v", err)
	}
	if f.applies != n {
		t.Fatal("a refused sync applied")
	}

	// The user mapping takes the name over: still one admin, allowed.
	keep := seedSpec(t)
	keep.Config.MapRoles = nil
	keep.Config.MapUsers[0].Groups = []string{"viewers"}
	keep.Config.MapUsers[0].Username = "ops-admin"
	res, err := Sync(ctx, live, keep, Options{})
	if err != nil || len(res.Admins) != 1 || !strings.HasPrefix(res.Admins[0], "user arn:aws:iam::111122223333:user/myUser") {
		t.Fatalf("another mapping keeps the admin user: %+v %v", res, err)
	}
}

// TestCorruptOwnedARNsAnnotationIsReported: a record of kubeiam's entries
// that does not parse is an error naming the annotation and the way out,
// not "kubeiam wrote nothing" (which would make every entry look foreign,
// or let --prune drop them); reading the mappings for whoami still works.
func TestCorruptOwnedARNsAnnotationIsReported(t *testing.T) {
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "aws-auth", "namespace": "kube-system",
			"annotations": map[string]any{mappings.OwnedARNsAnnotation: `["arn:aws:iam::111122223333:role/myrole"`}},
		"data": map[string]any{"mapRoles": "- rolearn: arn:aws:iam::111122223333:role/myRole\n  username: admin\n  groups: [system:masters]\n"},
	}}
	s := seedSpec(t)
	for _, prune := range []bool{false, true} {
		_, err := planMappings(s.Config, cm, prune)
		var oe *mappings.OwnedARNsError
		if !errors.As(err, &oe) || !strings.HasPrefix(err.Error(), "could not read aws-auth annotation kubeiam/owned-arns: ") ||
			!strings.Contains(oe.Hint(), "kubectl annotate configmap -n kube-system aws-auth kubeiam/owned-arns-") {
			t.Errorf("prune %t: %v, want an OwnedARNsError with the way out", prune, err)
		}
	}
	// The entries still come back with the error, for whoami, which does
	// not care who wrote them.
	if m, err := mappings.ParseAWSAuth(cm); len(m) != 1 || !errors.As(err, new(*mappings.OwnedARNsError)) {
		t.Errorf("entries %v, %v: want the one entry and the OwnedARNsError", m, err)
	}
}
