package installer

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// The GitOps edits: each golden file is its input after one edit. The
// inputs carry comments, odd spacing, both sequence styles and documents
// that are not the AWSIamConfig, all of which must come through unchanged.
func TestEditSpecGolden(t *testing.T) {
	for _, tc := range []struct {
		in, golden string
		edit       MappingEdit
	}{
		{"seed.yaml", "seed.add-user.golden.yaml", MappingEdit{Kind: "user", ARN: "arn:aws:iam::111122223333:user/anotherUser", Username: "anotherKubernetesUsername", Groups: []string{"viewers", "e2e:readers"}}},
		// The server matches ARNs case-insensitively, so remove does too.
		{"seed.yaml", "seed.remove-role.golden.yaml", MappingEdit{Remove: true, Kind: "role", ARN: "arn:aws:iam::111122223333:role/MYROLE"}},
		{"seed.yaml", "seed.remove-user.golden.yaml", MappingEdit{Remove: true, Kind: "user", ARN: "arn:aws:iam::111122223333:user/myUser"}},
		// An empty flow list takes a block entry; 4-space indentation and
		// indented sequences are kept; a missing list is created.
		{"indented.yaml", "indented.add-role.golden.yaml", MappingEdit{Kind: "role", ARN: "arn:aws:iam::111122223333:role/Admin", Username: "admin:{{SessionName}}", Groups: []string{"system:masters"}}},
		{"indented.yaml", "indented.add-user.golden.yaml", MappingEdit{Kind: "user", ARN: "arn:aws:iam::111122223333:user/bob", Username: "bob"}},
		{"indented.yaml", "indented.add-account.golden.yaml", MappingEdit{Kind: "account", ARN: "444455556666"}},
		{"indented.yaml", "indented.remove-account.golden.yaml", MappingEdit{Remove: true, Kind: "account", ARN: "111122223333"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			in, err := os.ReadFile("testdata/mappings/" + tc.in)
			if err != nil {
				t.Fatal(err)
			}
			res, err := EditSpec(tc.in, in, tc.edit)
			if err != nil {
				t.Fatal(err)
			}
			out, spec := res.Data, res.Spec
			golden(t, "testdata/mappings/"+tc.golden, out)
			// The edit is in the parsed result, not only in the text.
			var arns []string
			for _, m := range append(append([]Mapping{}, spec.Config.MapRoles...), spec.Config.MapUsers...) {
				arns = append(arns, strings.ToLower(m.ARN))
			}
			arns = append(arns, spec.Config.MapAccounts...)
			has := false
			for _, a := range arns {
				has = has || a == strings.ToLower(tc.edit.ARN)
			}
			if has == tc.edit.Remove {
				t.Errorf("after the edit, %s mapped = %v", tc.edit.ARN, has)
			}
			// Every document other than the AWSIamConfig is byte for byte
			// the input's.
			inDocs, outDocs := splitRaw(in), splitRaw(out)
			if len(inDocs) != len(outDocs) {
				t.Fatalf("%d documents became %d", len(inDocs), len(outDocs))
			}
			changed := 0
			for i := range inDocs {
				if inDocs[i] != outDocs[i] {
					changed++
					if !strings.Contains(inDocs[i].body, "kind: AWSIamConfig") {
						t.Errorf("document %d changed:\n%s", i+1, outDocs[i].body)
					}
				}
			}
			if changed != 1 {
				t.Errorf("%d documents changed, want 1", changed)
			}
		})
	}
}

func TestEditSpecRefusals(t *testing.T) {
	seed, err := os.ReadFile("testdata/mappings/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dup *DuplicateMappingError
	_, err = EditSpec("seed.yaml", seed, MappingEdit{Kind: "user", ARN: "arn:aws:iam::111122223333:user/MYUSER", Username: "x"})
	if !errors.As(err, &dup) || dup.Existing.Line != 33 || !strings.Contains(err.Error(), "line 33, as myKubernetesUsername [system:masters]") {
		t.Errorf("duplicate add: %v", err)
	}
	var nf *MappingNotFoundError
	if _, err = EditSpec("seed.yaml", seed, MappingEdit{Remove: true, Kind: "role", ARN: "arn:aws:iam::111122223333:role/other"}); !errors.As(err, &nf) {
		t.Errorf("remove of an unmapped role: %v", err)
	}
	// What the validator rejects is refused with its message and line.
	var ve *ValidationError
	_, err = EditSpec("seed.yaml", seed, MappingEdit{Kind: "user", ARN: "arn:aws-cn:iam::111122223333:user/z", Username: "z"})
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), `partition "aws-cn" does not match spec.partition "aws"`) {
		t.Errorf("bad ARN: %v", err)
	}
	// A value that looks like yq syntax is data, never expression.
	_, err = EditSpec("seed.yaml", seed, MappingEdit{Kind: "user", ARN: "arn:aws:iam::111122223333:user/q", Username: `x") | del(.spec) | ("`})
	if err != nil && !errors.As(err, &ve) {
		t.Errorf("quoted user name: %v", err)
	}
	// A spec that is invalid before the edit is not edited.
	bad := strings.Replace(string(seed), "EKSConfigMap", "MountedFile", 1)
	if _, err = EditSpec("seed.yaml", []byte(bad), MappingEdit{Kind: "user", ARN: "arn:aws:iam::111122223333:user/n", Username: "n"}); !errors.As(err, &ve) {
		t.Errorf("invalid spec: %v", err)
	}
}
