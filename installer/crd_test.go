package installer

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/mappings"
)

func crdSpec(t *testing.T, modes ...string) *Spec {
	t.Helper()
	s := seedSpec(t)
	s.Config.BackendMode = modes
	return s
}

// TestCRDModeInstallAndSync: CRD mode installs the CRD and one object per
// entry and no aws-auth; a sync updates and deletes only kubeiam's
// objects and reports the hand-made one it leaves alone.
func TestCRDModeInstallAndSync(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	res, err := Install(ctx, f, crdSpec(t, "CRD"), Options{Image: "img", ClusterID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.CRDMissing || len(res.ObjectMappings.Added) != 2 || !res.Mappings.Empty() {
		t.Fatalf("first install: %+v", res)
	}
	if f.objs["CustomResourceDefinition//"+mappings.CRDName] == nil || f.objs["ConfigMap/kube-system/aws-auth"] != nil {
		t.Fatalf("objects: %v", slices.Sorted(maps.Keys(f.objs)))
	}
	roleObj := "IAMIdentityMapping//" + mappings.ObjectName("arn:aws:iam::111122223333:role/myRole")
	if o := f.objs[roleObj]; o == nil || o.GetLabels()[mappings.ManagedByLabel] != "kubeiam" {
		t.Fatalf("role object: %v", o)
	}

	hand := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "iamauthenticator.k8s.aws/v1alpha1", "kind": "IAMIdentityMapping",
		"metadata": map[string]any{"name": "by-hand"}, "spec": map[string]any{"arn": "arn:aws:iam::111122223333:user/ops", "username": "ops"}}}
	f.objs["IAMIdentityMapping//by-hand"] = hand

	s := crdSpec(t, "CRD")
	s.Config.MapUsers = nil
	s.Config.MapRoles[0].Username = "renamed"
	res, err = Sync(ctx, f, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ObjectMappings.Changed) != 1 || len(res.ObjectMappings.Removed) != 1 || len(res.LeftAlone) != 1 || !strings.Contains(res.LeftAlone[0], "by-hand") {
		t.Fatalf("sync: %+v", res)
	}
	if f.objs["IAMIdentityMapping//by-hand"] == nil || f.deletes != 1 || len(f.objs) == 0 {
		t.Fatalf("after sync: %v, %d deletes", slices.Sorted(maps.Keys(f.objs)), f.deletes)
	}
	if u, _, _ := unstructured.NestedString(f.objs[roleObj].Object, "spec", "username"); u != "renamed" {
		t.Fatalf("username %q", u)
	}
}

// TestCRDModeLockoutIgnoresAWSAuth: in CRD mode an admin left in aws-auth
// is no way in, so removing the last system:masters object is refused.
func TestCRDModeLockoutIgnoresAWSAuth(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	if _, err := Install(ctx, f, seedSpec(t), Options{Image: "img", ClusterID: "id"}); err != nil {
		t.Fatal(err) // aws-auth with two admins
	}
	delete(f.objs, "DaemonSet/kube-system/aws-iam-authenticator") // as if the server ran with CRD
	if _, err := Sync(ctx, f, crdSpec(t, "CRD"), Options{}); err != nil {
		t.Fatal(err)
	}
	s := crdSpec(t, "CRD")
	s.Config.MapRoles[0].Groups = []string{"viewers"}
	s.Config.MapUsers[0].Groups = []string{"viewers"}
	_, err := Sync(ctx, f, s, Options{})
	var le *mappings.LockoutError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "no mapping the server reads (CRD) would reach cluster-admin") {
		t.Fatalf("lockout: %v", err)
	}
	if _, err := Sync(ctx, f, s, Options{AllowLockout: true}); err != nil {
		t.Fatal(err)
	}
}

// TestWaitForIdentityMappings: the wait ends when the server has written
// status.canonicalARN for spec.arn, and names the objects it has not.
func TestWaitForIdentityMappings(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.objs["CustomResourceDefinition//"+mappings.CRDName] = IdentityMappingCRD()
	objs := IdentityMappings(seedSpec(t).Config)
	for _, o := range objs {
		f.objs[key(o)] = o.DeepCopy()
	}
	var progress strings.Builder
	err := WaitForIdentityMappings(ctx, f, objs, Options{Timeout: 300 * time.Millisecond, Progress: &progress})
	var te *IdentityMappingTimeoutError
	if !errors.As(err, &te) || len(te.Pending) != 2 || !strings.Contains(err.Error(), mappings.ObjectName("arn:aws:iam::111122223333:user/myUser")) {
		t.Fatalf("no status: %v", err)
	}
	for _, o := range objs {
		arn, _, _ := unstructured.NestedString(o.Object, "spec", "arn")
		_ = unstructured.SetNestedField(f.objs[key(o)].Object, strings.ToLower(arn), "status", "canonicalARN")
	}
	progress.Reset()
	if err := WaitForIdentityMappings(ctx, f, objs, Options{Timeout: time.Second, Progress: &progress}); err != nil || !strings.Contains(progress.String(), "2 of 2 active") {
		t.Fatalf("with status: %v %q", err, progress.String())
	}
}
