package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeiam/kubeiam/internal/text"
)

// The IAMIdentityMapping custom resource of aws-iam-authenticator v0.7.2
// (deploy/iamidentitymapping.yaml): cluster-scoped, spec {arn, username,
// groups}, status {canonicalARN, userID} behind the status subresource.
const (
	CRDGroup    = "iamauthenticator.k8s.aws"
	CRDVersion  = "v1alpha1"
	CRDKind     = "IAMIdentityMapping"
	CRDResource = "iamidentitymappings"
	CRDName     = CRDResource + "." + CRDGroup
	// ManagedByLabel marks the objects kubeiam writes; sync changes and
	// deletes only those.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubeiam"
)

// ObjectName is the IAMIdentityMapping name kubeiam gives an ARN: readable
// (kind, account, name) and unique (a hash of the ARN as the server
// compares it, lower-cased), so a sync finds the same object again.
func ObjectName(arn string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(arn))))
	kind, account, name := KindOfARN(arn), "", ""
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		account = parts[4]
		name = parts[5][strings.LastIndex(parts[5], "/")+1:]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(account + "-" + name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	mid := strings.Trim(b.String(), "-")
	// DNS subdomain names stop at 253; 63 keeps them readable in a table.
	if len(mid) > 36 {
		mid = strings.TrimRight(mid[:36], "-")
	}
	return fmt.Sprintf("kubeiam-%s-%s-%s", kind, mid, hex.EncodeToString(sum[:4]))
}

// ExpectedCanonical is the status.canonicalARN the server's controller
// writes for spec.arn: the lower-cased ARN made canonical (a session ARN
// becomes its role). ok is false when the server cannot canonicalise it
// and so never writes a status.
func ExpectedCanonical(arn string) (string, bool) {
	p, err := Canonicalize(strings.ToLower(arn))
	if err != nil {
		return "", false
	}
	return strings.ToLower(p.Canonical), true
}

// FromObject reads an IAMIdentityMapping object. An object whose status
// the server has not written (or wrote for an older spec.arn) is Inactive:
// the server matches callers on status.canonicalARN only.
func FromObject(u *unstructured.Unstructured) Mapping {
	arn, _, _ := unstructured.NestedString(u.Object, "spec", "arn")
	user, _, _ := unstructured.NestedString(u.Object, "spec", "username")
	groups, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "groups")
	status, _, _ := unstructured.NestedString(u.Object, "status", "canonicalARN")
	m := Mapping{Kind: KindOfARN(arn), ARN: arn, Username: user, Groups: groups,
		Source: CRDKind + " " + u.GetName(), Managed: u.GetLabels()[ManagedByLabel] == ManagedByValue}
	want, ok := ExpectedCanonical(arn)
	switch {
	case status == "" && !ok:
		m.Inactive = "not active: the server cannot canonicalise spec.arn, so it never writes status.canonicalARN"
	case status == "":
		m.Inactive = "not active yet: the server has not written status.canonicalARN"
	case status != want:
		// The server matches on the old status until it catches up.
		m.Key = strings.ToLower(status)
		m.Inactive = fmt.Sprintf("not active yet for its new spec.arn: status.canonicalARN is still %s", status)
	default:
		m.Key = strings.ToLower(status)
	}
	return m
}

// FromSpecEntry is the IAMIdentityMapping a spec's mapRoles or mapUsers
// entry becomes, as the server will read it once the status is written.
func FromSpecEntry(m Mapping) Mapping {
	want, ok := ExpectedCanonical(m.ARN)
	m.Key, m.Managed = want, true
	if !ok {
		m.Inactive = "never active: the server cannot canonicalise the ARN"
	}
	m.Source = strings.TrimSpace(m.Source + " (" + CRDKind + " " + ObjectName(m.ARN) + ")")
	return m
}

// crd is the CRD backend: the first object whose status.canonicalARN is
// the caller's canonical ARN, lower-cased, wins. It has no accounts.
type crd struct{ entries []Mapping }

// NewCRD is a CRD backend over IAMIdentityMapping entries.
func NewCRD(entries []Mapping) Backend { return &crd{entries: entries} }

func (b *crd) Name() string       { return ModeCRD }
func (b *crd) Entries() []Mapping { return b.entries }

func (b *crd) Lookup(c Caller) (*Mapping, string) {
	canon := strings.ToLower(c.CanonicalARN)
	var pending []string
	for _, e := range b.entries {
		if e.Inactive == "" && e.Key == canon {
			return &e, fmt.Sprintf("%s matches %s", e.Source, c.CanonicalARN)
		}
		if want, _ := ExpectedCanonical(e.ARN); e.Inactive != "" && want == canon {
			pending = append(pending, fmt.Sprintf("%s maps %s but is %s", e.Source, c.CanonicalARN, e.Inactive))
		}
	}
	if len(pending) > 0 {
		return nil, strings.Join(pending, "; ")
	}
	return nil, fmt.Sprintf("no %s with status.canonicalARN %s (%d %s)", CRDKind, canon, len(b.entries), text.Plural(len(b.entries), "object", "objects"))
}
