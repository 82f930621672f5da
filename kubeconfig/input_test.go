package kubeconfig

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The library refuses what it would write, whoever calls it (the CLI
// refuses control characters in flags earlier, at one place for all verbs).
func TestWriteRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, testCA(t), 0o600)
	ok := WriteInput{Cluster: "prod", Server: "https://h:6443", CAFile: ca, ClusterID: "x"}
	for name, tc := range map[string]struct {
		edit func(*WriteInput)
		want string
	}{
		"newline in profile":  {func(in *WriteInput) { in.Profile = "prod\n* forged" }, `invalid --profile "prod\n* forged": contains a line break (U+000A)`},
		"U+2028 in profile":   {func(in *WriteInput) { in.Profile = "p\u2028q" }, `contains a line break (U+2028)`},
		"newline in role":     {func(in *WriteInput) { in.RoleARN = "arn:aws:iam::111122223333:role/a\nb" }, `invalid --role-arn "arn:aws:iam::111122223333:role/a\nb": role name "a\nb" has a character IAM does not allow`},
		"not a role":          {func(in *WriteInput) { in.RoleARN = "admins" }, `invalid --role-arn "admins": not an ARN`},
		"user ARN":            {func(in *WriteInput) { in.RoleARN = "arn:aws:iam::111122223333:user/u" }, "a user, not a role"},
		"env value":           {func(in *WriteInput) { in.Env = []string{"AWS_SESSION_TOKEN=s3cret\rx"} }, `invalid --env "AWS_SESSION_TOKEN" (value not shown): contains a line break (U+000D)`},
		"env name":            {func(in *WriteInput) { in.Env = []string{"A\x00B=1"} }, "a control character (U+0000)"},
		"cluster escapes":     {func(in *WriteInput) { in.Cluster = "../escape" }, `invalid --cluster "../escape": a cluster name is a DNS-1123 label`},
		"cluster with slash":  {func(in *WriteInput) { in.Cluster = "a/b" }, `invalid --cluster "a/b"`},
		"cluster too long":    {func(in *WriteInput) { in.Cluster = strings.Repeat("a", 64) }, "DNS-1123 label"},
		"server":              {func(in *WriteInput) { in.Server = "https://h:6443\nx" }, `invalid --server`},
		"cluster ID":          {func(in *WriteInput) { in.ClusterID = "c1\x1b[2J" }, `invalid --cluster-id "c1\x1b[2J": contains a control character (U+001B)`},
		"exec command":        {func(in *WriteInput) { in.ExecCommand = "kubeiam\n" }, `invalid --exec-command`},
		"bidi in profile":     {func(in *WriteInput) { in.Profile = "dev\u202eved" }, "bidirectional text control (U+202E)"},
		"invalid UTF-8 value": {func(in *WriteInput) { in.Profile = "\xff" }, "not valid UTF-8"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			in := ok
			tc.edit(&in)
			_, _, err := Write(context.Background(), in, OutputOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if entries, _ := os.ReadDir("."); len(entries) > 0 {
				t.Errorf("wrote %v", entries[0].Name())
			}
			if _, err := os.Stat(filepath.Join("..", "escape-aws.kubeconfig")); err == nil {
				t.Error("wrote outside the working directory")
			}
		})
	}
	t.Run("upper case passes", func(t *testing.T) {
		t.Chdir(t.TempDir())
		in := ok
		in.Cluster, in.RoleARN, in.Profile = "testCluster-123", "arn:aws-us-gov:iam::111122223333:role/teams/a/Admin", "prod admins"
		if _, _, err := Write(context.Background(), in, OutputOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSetProfileAndRemoveRefuseBadInput(t *testing.T) {
	cfg := clientcmdapi.NewConfig()
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{Command: "kubeiam", Args: []string{"token", "-i", "c"}}}
	if _, err := SetProfile(cfg, "u", "p\nq", "", false); err == nil || !strings.Contains(err.Error(), `invalid --profile "p\nq"`) {
		t.Errorf("profile: %v", err)
	}
	if _, err := SetProfile(cfg, "u", "p", "arn:aws:iam::111122223333:group/g", true); err == nil || !strings.Contains(err.Error(), "a group, not a role") {
		t.Errorf("role: %v", err)
	}
	if args := cfg.AuthInfos["u"].Exec.Args; strings.Join(args, " ") != "token -i c" {
		t.Errorf("args changed: %v", args)
	}
	if _, err := SetProfile(cfg, "u", "p", "", true); err != nil {
		t.Errorf("removing the role: %v", err)
	}
	if _, err := Remove(cfg, "../x"); err == nil || !strings.Contains(err.Error(), `invalid --cluster "../x"`) {
		t.Errorf("remove: %v", err)
	}
}
