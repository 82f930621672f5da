package mappings

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func object(name, arn, user, status string, groups []any, managed bool) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": CRDGroup + "/" + CRDVersion, "kind": CRDKind,
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"arn": arn, "username": user, "groups": groups},
	}}
	if status != "" {
		u.Object["status"] = map[string]any{"canonicalARN": status}
	}
	if managed {
		u.SetLabels(map[string]string{ManagedByLabel: ManagedByValue})
	}
	return u
}

// TestChainWalk: the first backend that maps the caller decides; an
// IAMIdentityMapping whose status the server has not written falls
// through and says so; mapAccounts is the EKSConfigMap backend's last
// resort and the CRD backend has none.
func TestChainWalk(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/Admin"
	cm := []Mapping{
		{Kind: KindRole, ARN: role, Username: "cm-admin", Groups: []string{"g"}, Source: "aws-auth mapRoles", Key: strings.ToLower(role)},
		{Kind: KindAccount, ARN: "444455556666", Source: "aws-auth mapAccounts"},
	}
	active := FromObject(object("a", role, "crd-admin:{{SessionName}}", strings.ToLower(role), []any{"system:masters"}, true))
	pending := FromObject(object("p", role, "crd-pending", "", nil, false))
	caller, err := CallerOfARN("arn:aws:sts::111122223333:assumed-role/Admin/alice")
	if err != nil {
		t.Fatal(err)
	}
	caller.SessionUnknown = false

	m, trace := ChainOf([]string{ModeCRD, ModeEKSConfigMap}, Sources{ConfigMap: cm, CRD: []Mapping{pending, active}}).Explain(caller)
	if m == nil || m.Backend != ModeCRD || m.Username != "crd-admin:alice" || m.Source != "IAMIdentityMapping a" {
		t.Fatalf("CRD first: %+v %v", m, trace)
	}
	m, trace = ChainOf([]string{ModeCRD, ModeEKSConfigMap}, Sources{ConfigMap: cm, CRD: []Mapping{pending}}).Explain(caller)
	if m == nil || m.Backend != ModeEKSConfigMap || m.Username != "cm-admin" ||
		!strings.Contains(trace[0], "CRD: IAMIdentityMapping p maps arn:aws:iam::111122223333:role/Admin but is not active yet") {
		t.Fatalf("pending object falls through: %+v %q", m, trace)
	}
	other, _ := CallerOfARN("arn:aws:iam::444455556666:user/zed")
	if m, _ := ChainOf([]string{ModeCRD}, Sources{ConfigMap: cm, CRD: []Mapping{active}}).Explain(other); m != nil {
		t.Fatalf("CRD mode mapped an account: %+v", m)
	}
	if m, _ := ChainOf([]string{ModeEKSConfigMap}, Sources{ConfigMap: cm}).Explain(other); m == nil || m.Kind != KindAccount || m.Username != other.CanonicalARN {
		t.Fatalf("account: %+v", m)
	}
	if _, trace := ChainOf(nil, Sources{}).Explain(other); !strings.Contains(trace[0], "EKSConfigMap assumed") {
		t.Fatalf("no modes: %q", trace)
	}
}

// TestLockoutCountsOnlyWhatTheServerReads: an admin left in aws-auth does
// not save a CRD-only server.
func TestLockoutCountsOnlyWhatTheServerReads(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/Admin"
	cm := []Mapping{{Kind: KindRole, ARN: role, Username: "a", Groups: []string{MastersGroup}, Key: strings.ToLower(role)}}
	crdAdmin := FromObject(object("a", role, "a", strings.ToLower(role), []any{MastersGroup}, true))
	before := ChainOf([]string{ModeCRD}, Sources{ConfigMap: cm, CRD: []Mapping{crdAdmin}})
	after := ChainOf([]string{ModeCRD}, Sources{ConfigMap: cm})
	_, err := CheckLockout(LockoutCheck{Before: before, After: after, Admins: DefaultAdminSubjects()})
	if err == nil || !strings.Contains(err.Error(), "no mapping the server reads (CRD) would reach cluster-admin") {
		t.Fatalf("CRD-only: %v", err)
	}
	both := ChainOf([]string{ModeCRD, ModeEKSConfigMap}, Sources{ConfigMap: cm})
	if left, err := CheckLockout(LockoutCheck{Before: before, After: both, Admins: DefaultAdminSubjects()}); err != nil || len(left) != 1 {
		t.Fatalf("aws-auth read too: %v %v", left, err)
	}
}

func TestObjectName(t *testing.T) {
	a := ObjectName("arn:aws:iam::111122223333:role/team/Admin_Role")
	if a != ObjectName("ARN:AWS:IAM::111122223333:ROLE/TEAM/ADMIN_ROLE") || !strings.HasPrefix(a, "kubeiam-role-111122223333-admin-role-") || len(a) > 63 {
		t.Fatalf("name %q", a)
	}
	if a == ObjectName("arn:aws:iam::111122223333:role/Admin_Role") {
		t.Fatal("two ARNs, one name")
	}
	long := ObjectName("arn:aws:iam::111122223333:user/" + strings.Repeat("x", 60))
	if len(long) > 63 {
		t.Fatalf("long name %q", long)
	}
}

// TestFromObjectStates: the server matches on status.canonicalARN only,
// so an object is active once that status is the canonical spec.arn.
func TestFromObjectStates(t *testing.T) {
	const arn = "arn:aws:sts::111122223333:assumed-role/Admin/s"
	for _, tc := range []struct {
		status, arn, inactive, key string
	}{
		{"", arn, "not active yet: the server has not written status.canonicalARN", ""},
		{"arn:aws:iam::111122223333:role/admin", arn, "", "arn:aws:iam::111122223333:role/admin"},
		{"arn:aws:iam::111122223333:role/old", arn, "not active yet for its new spec.arn", "arn:aws:iam::111122223333:role/old"},
		{"", "arn:aws:s3:::bucket", "not active: the server cannot canonicalise spec.arn", ""},
	} {
		m := FromObject(object("o", tc.arn, "u", tc.status, nil, false))
		if !strings.HasPrefix(m.Inactive, tc.inactive) || (tc.inactive == "") != (m.Inactive == "") || m.Key != tc.key || m.Managed {
			t.Errorf("status %q arn %q: %+v", tc.status, tc.arn, m)
		}
	}
}

// TestParseAWSAuth: entries kubeiam wrote are Managed; the deprecated
// ConfigMap mode reads aws-auth as EKSConfigMap does.
func TestParseAWSAuth(t *testing.T) {
	cm := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{OwnedARNsAnnotation: `["arn:aws:iam::111122223333:role/admin"]`}},
		"data": map[string]any{
			"mapRoles":    "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: a\n- rolearn: arn:aws:iam::111122223333:role/Node\n  username: n\n",
			"mapAccounts": "- \"444455556666\"\n",
		},
	}}
	ms, err := ParseAWSAuth(cm)
	if err != nil || len(ms) != 3 || !ms[0].Managed || ms[1].Managed || ms[2].Kind != KindAccount {
		t.Fatalf("%+v %v", ms, err)
	}
	c, _ := CallerOfARN("arn:aws:iam::111122223333:role/Admin")
	if m, ok := ChainOf([]string{ModeConfigMap}, Sources{ConfigMap: ms}).Match(c); !ok || m.Backend != ModeConfigMap || m.Username != "a" {
		t.Fatalf("ConfigMap mode: %+v", m)
	}
	if !Reads([]string{ModeConfigMap}, ModeEKSConfigMap) || Reads([]string{ModeCRD}, ModeEKSConfigMap) {
		t.Fatal("Reads")
	}
}

// TestConfigMapLaterEntryWins: the server loads mapRoles into a map in
// order, so of two entries for one ARN the later answers; explain must name
// the same one.
func TestConfigMapLaterEntryWins(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/Dev"
	cm := []Mapping{
		{Kind: KindRole, ARN: role, Username: "first", Source: "aws-auth mapRoles[0]", Key: strings.ToLower(role)},
		{Kind: KindRole, ARN: strings.ToUpper(role[:8]) + role[8:], Username: "second", Source: "aws-auth mapRoles[1]", Key: strings.ToLower(role)},
	}
	caller, err := CallerOfARN("arn:aws:sts::111122223333:assumed-role/Dev/bob")
	if err != nil {
		t.Fatal(err)
	}
	m, trace := ChainOf([]string{ModeEKSConfigMap}, Sources{ConfigMap: cm}).Explain(caller)
	if m == nil || m.Username != "second" || m.Source != "aws-auth mapRoles[1]" {
		t.Fatalf("later entry should win: %+v %q", m, trace)
	}
}
