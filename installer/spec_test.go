package installer

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func load(t *testing.T, path string) (*Spec, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ParseSpec(path, b)
}

func TestParseSeed(t *testing.T) {
	s, err := load(t, "testdata/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.ClusterName != "my-cluster-name" || s.KubernetesVersion != "1.31" || s.Config.Name != "aws-iam-auth-config" {
		t.Errorf("cluster %q version %q config %q", s.ClusterName, s.KubernetesVersion, s.Config.Name)
	}
	c := s.Config
	if c.AWSRegion != "us-west-1" || c.Partition != "aws" || strings.Join(c.BackendMode, ",") != "EKSConfigMap" {
		t.Errorf("config = %+v", c)
	}
	if len(c.MapRoles) != 1 || c.MapRoles[0].ARN != "arn:aws:iam::111122223333:role/myRole" || c.MapRoles[0].Groups[0] != "system:masters" {
		t.Errorf("mapRoles = %+v", c.MapRoles)
	}
	if len(c.MapUsers) != 1 || c.MapUsers[0].Username != "myKubernetesUsername" || c.MapUsers[0].Line != 28 {
		t.Errorf("mapUsers = %+v", c.MapUsers)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings on the seed: %v", s.Warnings)
	}
}

// TestValidationReportsEverything: one run names every problem of the
// file with its line, so the user fixes them in one round.
func TestValidationReportsEverything(t *testing.T) {
	_, err := load(t, "testdata/bad.yaml")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"12 problems",
		"bad.yaml:15: AWSIamConfig iam (document 2): spec.awsRegion: region cn-north-1 is in partition aws-cn, not aws",
		"bad.yaml:17: AWSIamConfig iam (document 2): spec.backendMode[0]: MountedFile is not supported",
		"bad.yaml:19: AWSIamConfig iam (document 2): spec.backendMode[2]: EKSConfigMap is listed twice",
		"bad.yaml:21: warning: AWSIamConfig iam (document 2): spec.mapRoles[0].roleARN: role paths are not matched by the server (use arn:aws:iam::111122223333:role/Admin)",
		"spec.mapRoles[1].roleARN: arn:aws:sts::111122223333:assumed-role/Dev/alice is an STS session ARN; the server maps IAM role ARNs (use arn:aws:iam::111122223333:role/Dev)",
		"bad.yaml:25: AWSIamConfig iam (document 2): spec.mapRoles[1].username: unknown template {{Session}}",
		"bad.yaml:26: warning: AWSIamConfig iam (document 2): spec.mapRoles[2].rolearn: write roleARN",
		`spec.mapRoles[2].rolearn: account "1234" is not 12 digits`,
		"spec.mapRoles[3].roleARN: arn:aws:iam::111122223333:user/NotARole is not an IAM role ARN (it belongs in mapUsers)",
		"bad.yaml:30: AWSIamConfig iam (document 2): spec.mapRoles[4].roleARN: ARN:AWS:IAM::111122223333:ROLE/TEAM/ADMIN is mapped twice (also line 21)",
		`spec.mapRoles[4].groups[0]: group " padded" has leading or trailing spaces`,
		"bad.yaml:35: AWSIamConfig iam (document 2): spec.mapUsers[0].usrname: unknown field",
		"bad.yaml:34: AWSIamConfig iam (document 2): spec.mapUsers[0]: the entry has neither username nor groups",
		// The server compares lower-cased: upper case is no error, the path is.
		"bad.yaml:30: warning: AWSIamConfig iam (document 2): spec.mapRoles[4].roleARN: role paths are not matched by the server (use arn:aws:iam::111122223333:role/ADMIN)",
		`bad.yaml:37: AWSIamConfig iam (document 2): spec.mapAccounts[0]: account ID 012345678901 is a YAML number (quote it: "012345678901")`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestSpecStructureErrors(t *testing.T) {
	cluster := "apiVersion: anywhere.eks.amazonaws.com/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  identityProviderRefs: [{kind: AWSIamConfig, name: iam}]\n"
	cfg := "apiVersion: anywhere.eks.amazonaws.com/v1alpha1\nkind: AWSIamConfig\nmetadata: {name: other}\nspec: {awsRegion: us-west-2, backendMode: [EKSConfigMap]}\n"
	for name, tc := range map[string]struct{ in, want string }{
		"no cluster":     {cfg, "no Cluster document"},
		"missing config": {cluster + "---\n" + cfg, `AWSIamConfig "iam" is not in the file (the file has other)`},
		"no ref":         {"apiVersion: anywhere.eks.amazonaws.com/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {}\n", "no reference to an AWSIamConfig"},
		"proxied group":  {strings.Replace(cluster, "anywhere.eks.amazonaws.com", "anywhere---eks.amazonaws.com.rproxy.goskope.com", 1), "rewrote the host name"},
		"no kind":        {"foo: bar\n---\n" + cluster, "document 1: the document has no kind"},
		"syntax":         {"kind: [\n", "invalid YAML"},
		"required":       {cluster + "---\napiVersion: anywhere.eks.amazonaws.com/v1alpha1\nkind: AWSIamConfig\nmetadata: {name: iam}\nspec: {}\n", "spec.awsRegion: required"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSpec("f.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMapAccountsAndModesAccepted(t *testing.T) {
	in := `apiVersion: anywhere.eks.amazonaws.com/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {identityProviderRefs: [{kind: AWSIamConfig, name: iam}]}
---
apiVersion: anywhere.eks.amazonaws.com/v1alpha1
kind: AWSIamConfig
metadata: {name: iam}
spec:
  awsRegion: cn-north-1
  partition: aws-cn
  backendMode: [EKSConfigMap, CRD]
  mapUsers:
  - {userARN: "arn:aws-cn:iam::111122223333:user/ops/alice", username: "alice-{{SessionName}}"}
  mapAccounts: ["012345678901"]
`
	s, err := ParseSpec("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.Config.MapAccounts[0] != "012345678901" || s.Config.Partition != "aws-cn" {
		t.Errorf("config = %+v", s.Config)
	}
	// A user path is part of the caller's ARN, so it is fine; a session
	// template is empty for a user, which deserves a warning.
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Msg, "{{SessionName}} is empty for an IAM user") {
		t.Errorf("warnings = %v", s.Warnings)
	}
}
