package token

import (
	"strings"
	"testing"
)

func TestParseRoleARN(t *testing.T) {
	for _, tc := range []struct {
		in         string
		path, name string
		err        string
	}{
		{in: "arn:aws:iam::111122223333:role/k8s-admin", path: "/", name: "k8s-admin"},
		{in: "arn:aws:iam::111122223333:role/teams/platform/Admin+1=x,y.z@w_v-u", path: "/teams/platform/", name: "Admin+1=x,y.z@w_v-u"},
		{in: "arn:aws-cn:iam::111122223333:role/r", path: "/", name: "r"},
		{in: "arn:aws-us-gov:iam::111122223333:role/r", path: "/", name: "r"},
		{in: "arn:aws-iso-f:iam::111122223333:role/r", path: "/", name: "r"},
		{in: "arn:aws-eusc:iam::111122223333:role/r", path: "/", name: "r"},
		{in: "k8s-admin", err: "not an ARN"},
		{in: "arn:aws:iam::111122223333:role/admin\nforged", err: `role name "admin\nforged" has a character IAM does not allow`},
		{in: "arn:aws:iam::111122223333:role/a\u2028b", err: `has a character IAM does not allow ('\u2028'`},
		{in: "arn:aws:iam::111122223333:role/pa\tth/x", err: "role path"},
		{in: "arn:aws:iam::111122223333:role//x", err: "empty segment"},
		{in: "arn:aws:iam::111122223333:role/", err: "role name must be 1 to 64"},
		{in: "arn:aws:iam::111122223333:role/" + strings.Repeat("a", 65), err: "role name must be 1 to 64"},
		{in: "arn:aws:iam::111122223333:user/alice", err: "a user, not a role"},
		{in: "arn:aws:iam::1111:role/r", err: `account "1111" is not 12 digits`},
		{in: "arn:aws:iam:us-east-1:111122223333:role/r", err: "no region"},
		{in: "arn:aws:s3::111122223333:role/r", err: `service "s3" is not iam`},
		{in: "arn:aws-mars:iam::111122223333:role/r", err: `unknown partition "aws-mars"`},
		{in: "arn:aws:sts::111122223333:assumed-role/Dev/alice", err: "an STS session, not a role; the role is arn:aws:iam::111122223333:role/Dev"},
	} {
		r, err := ParseRoleARN(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRoleARN(%q) = %v, want error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || r.Path != tc.path || r.Name != tc.name {
			t.Errorf("ParseRoleARN(%q) = %+v, %v; want path %q name %q", tc.in, r, err, tc.path, tc.name)
		}
		if r.String() != tc.in {
			t.Errorf("String() = %q, want %q", r.String(), tc.in)
		}
	}
}
