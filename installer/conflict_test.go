package installer

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// conflicting answers an apply without force, for the kinds in owned, as
// the API does when another field manager owns fields of the object.
type conflicting struct {
	*fakeClient
	owned map[string]string // kind → field
}

func (c *conflicting) Apply(ctx context.Context, o *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error) {
	if f, ok := c.owned[o.GetKind()]; ok && !opts.Force {
		err := apierrors.NewApplyConflict([]metav1.StatusCause{{Type: metav1.CauseTypeFieldManagerConflict, Field: f, Message: `conflict with "eks-a-controller" using apps/v1`}}, "Apply failed with 1 conflict")
		return nil, conflictOf(o, err)
	}
	return c.fakeClient.Apply(ctx, o, opts)
}

// TestInstallConflicts: every field another manager owns, in every object,
// is listed with its owner before anything is written; --force-conflicts
// takes them over.
func TestInstallConflicts(t *testing.T) {
	ctx := context.Background()
	c := &conflicting{fakeClient: newFake(), owned: map[string]string{
		"DaemonSet": `.spec.template.spec.containers[name="aws-iam-authenticator"].image`,
		"ConfigMap": ".data.mapRoles",
	}}
	_, err := Install(ctx, c, seedSpec(t), Options{Image: "img", ClusterID: "id"})
	var ce *ConflictError
	if !errors.As(err, &ce) || len(ce.Fields) != 3 {
		t.Fatalf("err = %v, want 3 conflicting fields (DaemonSet, 2 ConfigMaps)", err)
	}
	for _, want := range []string{
		"3 fields are owned by another field manager",
		`DaemonSet kube-system/aws-iam-authenticator .spec.template.spec.containers[name="aws-iam-authenticator"].image: conflict with "eks-a-controller" using apps/v1`,
		`ConfigMap kube-system/aws-auth .data.mapRoles: conflict with "eks-a-controller"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if c.applies != 0 {
		t.Fatalf("a refused install applied %d objects", c.applies)
	}
	if _, err := Install(ctx, c, seedSpec(t), Options{Image: "img", ClusterID: "id", ForceConflicts: true}); err != nil {
		t.Fatal(err)
	}
}
