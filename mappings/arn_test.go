package mappings

import (
	"slices"
	"strings"
	"testing"
)

// TestCanonicalize follows aws-iam-authenticator v0.7.2's pkg/arn cases.
func TestCanonicalize(t *testing.T) {
	for _, tc := range []struct{ arn, canonical, kind, session, err string }{
		{"arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/Bob", "user", "", ""},
		{"arn:aws:iam::123456789012:role/S3Access", "arn:aws:iam::123456789012:role/S3Access", "role", "", ""},
		{"arn:aws:iam::123456789012:role/team/S3Access", "arn:aws:iam::123456789012:role/team/S3Access", "role", "", ""},
		{"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root", "root", "", ""},
		{"arn:aws:sts::123456789012:assumed-role/Accounting-Role/Mary", "arn:aws:iam::123456789012:role/Accounting-Role", "assumed-role", "Mary", ""},
		{"arn:aws-cn:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/mary@example.com",
			"arn:aws-cn:iam::123456789012:role/AWSReservedSSO_Admin_0123456789abcdef", "assumed-role", "mary@example.com", ""},
		{"arn:aws:sts::123456789012:federated-user/Bob", "arn:aws:sts::123456789012:federated-user/Bob", "federated-user", "", ""},
		{"arn:aws:sts::123456789012:assumed-role/OnlyRole", "", "", "", "needs a role and a session"},
		{"arn:aws-moon:iam::123456789012:user/Bob", "", "", "", `does not know partition "aws-moon"`},
		{"arn:aws:s3:::bucket", "", "", "", "not an identity the server maps"},
		{"alice", "", "", "", "is not an ARN"},
	} {
		p, err := Canonicalize(tc.arn)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.arn, err, tc.err)
			}
			continue
		}
		if err != nil || p.Canonical != tc.canonical || p.Kind != tc.kind || p.Session != tc.session {
			t.Errorf("%s = %+v, %v", tc.arn, p, err)
		}
	}
}

// TestServerPartitionsAreV072s: derived from kubeiam's partition table,
// the list is still exactly the partitions aws-iam-authenticator v0.7.2
// knows (its AWS SDK v1 endpoints: aws, aws-cn, aws-us-gov, aws-iso,
// aws-iso-b, aws-iso-e, aws-iso-f). A partition added to the table must be
// placed on one side or the other here.
func TestServerPartitionsAreV072s(t *testing.T) {
	want := []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"}
	if got := serverPartitions(); !slices.Equal(got, want) {
		t.Errorf("server partitions %v, want v0.7.2's %v", got, want)
	}
}
