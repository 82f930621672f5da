package installer

import (
	"os"
	"strings"
	"testing"
)

func TestCheckMappingARN(t *testing.T) {
	const acct = "111122223333"
	for _, tc := range []struct {
		arn, kind, msg, fix string
		warning             bool
	}{
		{"arn:aws:iam::" + acct + ":role/Admin", "role", "", "", false},
		{"arn:aws:iam::" + acct + ":role/team/platform/Admin", "role", "role paths are not matched", "arn:aws:iam::" + acct + ":role/Admin", true},
		{"arn:aws:iam::" + acct + ":role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_Team_0123456789abcdef", "role",
			"IAM Identity Center role (permission set Admin_Team): its path aws-reserved/sso.amazonaws.com/eu-west-1 is not matched",
			"arn:aws:iam::" + acct + ":role/AWSReservedSSO_Admin_Team_0123456789abcdef", true},
		{"arn:aws:sts::" + acct + ":assumed-role/Admin/alice", "role", "is an STS session ARN", "arn:aws:iam::" + acct + ":role/Admin", false},
		{"arn:aws:sts::" + acct + ":assumed-role/Admin/alice", "user", "not an IAM user ARN", "", false},
		{"arn:aws-cn:iam::" + acct + ":user/bob", "user", `partition "aws-cn" does not match spec.partition "aws"`, "arn:aws:iam::" + acct + ":user/bob", false},
		{"arn:aws:iam::1111-2222-3333:user/bob", "user", "not written as 12 digits", "arn:aws:iam::" + acct + ":user/bob", false},
		{"arn:aws:iam::1234:user/bob", "user", `account "1234" is not 12 digits`, "", false},
		{" arn:aws:iam::" + acct + ":user/bob\t", "user", "leading or trailing whitespace", "arn:aws:iam::" + acct + ":user/bob", false},
		{" arn:aws:iam::" + acct + ":role/a/B", "role", "whitespace, which the server compares literally; role paths", "arn:aws:iam::" + acct + ":role/B", false},
		{"arn:aws:iam::" + acct + ":user/bob smith", "user", "contains whitespace", "", false},
		{"arn:aws:iam:us-east-1:" + acct + ":user/bob", "user", "IAM ARNs have no region", "arn:aws:iam::" + acct + ":user/bob", false},
		{"arn:aws:iam::" + acct + ":user/bob", "role", "belongs in mapUsers", "", false},
		{"arn:aws:iam::" + acct + ":root", "user", "", "", false},
		{"arn:aws:sts::" + acct + ":federated-user/bob", "user", "", "", false},
	} {
		f := checkMappingARN(tc.arn, tc.kind, "aws")
		if tc.msg == "" {
			if f != nil {
				t.Errorf("%q (%s): %+v, want no finding", tc.arn, tc.kind, f)
			}
			continue
		}
		if f == nil || !strings.Contains(f.Msg, tc.msg) || f.Fix != tc.fix || f.Warning != tc.warning {
			t.Errorf("%q (%s) = %+v, want %q fix %q warning %v", tc.arn, tc.kind, f, tc.msg, tc.fix, tc.warning)
		}
		// A fix is what the server matches: it has nothing left to find.
		if f != nil && f.Fix != "" {
			if g := checkMappingARN(f.Fix, tc.kind, "aws"); g != nil {
				t.Errorf("fix %q of %q: %+v", f.Fix, tc.arn, g)
			}
		}
	}
}

// TestFixSpec: every fixable entry is rewritten in place, comments and
// the rest of the file kept; one that would duplicate another is left and
// reported.
func TestFixSpec(t *testing.T) {
	in, err := os.ReadFile("testdata/mappings/fix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, fixed, left, err := FixSpec("fix.yaml", in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/mappings/fix.golden.yaml", res.Data)
	if len(fixed) != 5 {
		t.Errorf("fixed %d entries, want 5: %v", len(fixed), fixed)
	}
	if len(left) != 1 || !strings.Contains(left[0].String(), "fix.yaml:27: ") || !strings.Contains(left[0].Msg, "not fixed: arn:aws:iam::111122223333:role/Admin is mapped already") {
		t.Errorf("left = %v", left)
	}
	// Fixing the result again finds only what it could not fix.
	_, again, left2, err := FixSpec("fix.yaml", res.Data)
	if err != nil || len(again) != 0 || len(left2) != 1 {
		t.Errorf("second fix: %v %v %v", again, left2, err)
	}
}
