package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/iostreams"
	"github.com/kubeiam/kubeiam/internal/ststest"
)

const kubeconfigYAML = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://c:6443"}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubeiam
      args: [token, -i, c1, --region, eu-west-1]
contexts:
- name: c1
  context: {cluster: c, user: u}
current-context: c1
`

// setup points the AWS SDK at the STS stand-in as alice and returns
// options for a kubeconfig whose context signs for cluster c1. The process
// environment is what the SDK's chain reads, so these tests are not parallel.
func setup(t *testing.T, now func() time.Time) (*Options, *ststest.Rig, func() string) {
	t.Helper()
	rig := ststest.Start(t, ststest.Options{})
	alice := rig.Identity("alice")
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	if err := os.WriteFile(kc, []byte(kubeconfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	rig.UseAs(t, alice, dir)
	for k, v := range map[string]string{
		"HOME":           dir,
		"XDG_CACHE_HOME": filepath.Join(dir, "cache"),
		"KUBEIAM_CACHE":  "file",
		"KUBECONFIG":     kc,
	} {
		t.Setenv(k, v)
	}
	io, _, out, _ := iostreams.Test()
	opts := &Options{
		IO: io, Timeout: 5 * time.Second, Getenv: os.Getenv, Now: now,
		// The exec check is the testscript's business; here kubeiam is
		// simply not installed.
		LookPath: func(string) (string, error) { return "", errors.New("not found") },
	}
	return opts, rig, out.String
}

func find(t *testing.T, rep *Report, name string) Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, rep.Checks)
	return Check{}
}

// The clock check compares STS's Date header with the local clock; the
// local clock is the Options' Now, shifted here while the SDK still signs
// with the real clock, so STS accepts the call and only the comparison sees
// the skew.
func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shift  time.Duration
		status Status
		says   *regexp.Regexp
	}{
		// The Date header has one-second resolution: a second either way.
		{"in sync", 0, StatusOK, regexp.MustCompile(`^within 1m0s of STS \(-?[01]s\)$`)},
		{"ahead 90s", 90 * time.Second, StatusWarning, regexp.MustCompile(`^this machine's clock is 1m(29|30|31)s ahead of STS's`)},
		{"behind 10m", -10 * time.Minute, StatusError, regexp.MustCompile(`^this machine's clock is (9m59s|10m0s|10m1s) behind STS's`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, rig, _ := setup(t, func() time.Time { return time.Now().Add(tc.shift) })
			rep := Diagnose(context.Background(), opts)
			clock := find(t, rep, "clock")
			if clock.Status != tc.status || !tc.says.MatchString(clock.Message) {
				t.Errorf("clock = %+v, want %s saying %q", clock, tc.status, tc.says)
			}
			if tc.status != StatusOK && !strings.Contains(clock.Fix, "time") {
				t.Errorf("clock fix = %q", clock.Fix)
			}
			if n := rig.Count("GetCallerIdentity"); n != 1 {
				t.Errorf("GetCallerIdentity calls = %d, want 1", n)
			}
			id := find(t, rep, "identity")
			if id.Status != StatusOK || !strings.Contains(id.Message, rig.Identity("alice").ARN) {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	opts, rig, out := setup(t, time.Now)
	opts.Output = "json"
	rep := Diagnose(context.Background(), opts)
	if err := write(opts, rep); err != nil {
		t.Fatal(err)
	}
	alice := rig.Identity("alice")
	for _, secret := range []string{alice.SecretAccessKey, alice.SessionToken, alice.AccessKeyID} {
		if secret != "" && strings.Contains(out(), secret) {
			t.Errorf("report contains a credential: %s", out())
		}
	}
	var back Report
	if err := json.Unmarshal([]byte(out()), &back); err != nil {
		t.Fatalf("-o json is not JSON: %v", err)
	}
	if back.ClusterID != "c1" || back.Context != "c1" || len(back.Checks) != len(rep.Checks) {
		t.Errorf("json report %+v", back)
	}
	creds := find(t, rep, "credentials")
	if creds.Status != StatusOK || !strings.Contains(creds.Message, "source the environment,") {
		t.Errorf("credentials = %+v", creds)
	}
	ep := find(t, rep, "endpoint")
	if !strings.Contains(ep.Message, "sts.eu-west-1.amazonaws.com") || !strings.Contains(ep.Message, "--region in the exec args") {
		t.Errorf("endpoint = %+v", ep)
	}
	// kubeiam is not on the stubbed PATH: an error, so a non-zero exit.
	if ex := find(t, rep, "exec"); ex.Status != StatusError || rep.Errors != 1 {
		t.Errorf("exec = %+v, errors = %d", ex, rep.Errors)
	}
}

// --offline makes no network call at all; static keys still load.
func TestOffline(t *testing.T) {
	opts, rig, _ := setup(t, time.Now)
	opts.Offline = true
	rep := Diagnose(context.Background(), opts)
	if n := rig.Count("GetCallerIdentity"); n != 0 {
		t.Errorf("GetCallerIdentity calls = %d with --offline", n)
	}
	if c := find(t, rep, "credentials"); c.Status != StatusOK {
		t.Errorf("static credentials offline: %+v", c)
	}
	for _, name := range []string{"identity", "clock"} {
		if c := find(t, rep, name); c.Status != StatusSkipped {
			t.Errorf("%s = %+v, want skipped", name, c)
		}
	}
}

// A role to assume needs STS; offline that is reported as skipped, not as
// a failure, and no request leaves the machine.
func TestOfflineRoleSkipped(t *testing.T) {
	opts, rig, _ := setup(t, time.Now)
	kc := os.Getenv("KUBECONFIG")
	b, _ := os.ReadFile(kc)
	withRole := strings.Replace(string(b), "--region, eu-west-1]", "--region, eu-west-1, -r, arn:aws:iam::"+ststest.AccountA+":role/KubeAdmin]", 1)
	if err := os.WriteFile(kc, []byte(withRole), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.Offline = true
	rep := Diagnose(context.Background(), opts)
	if c := find(t, rep, "credentials"); c.Status != StatusSkipped || !strings.Contains(c.Message, "needs the network") {
		t.Errorf("credentials = %+v", c)
	}
	if n := rig.Count("AssumeRole"); n != 0 {
		t.Errorf("AssumeRole calls = %d with --offline", n)
	}
	// Online, the same context assumes the role and STS names it.
	opts.Offline = false
	rep = Diagnose(context.Background(), opts)
	if c := find(t, rep, "identity"); c.Status != StatusOK || !strings.Contains(c.Message, "role/KubeAdmin") {
		t.Errorf("identity = %+v", c)
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"1.16.155", "1.16.156", true},
		{"1.16.156", "1.16.156", false},
		{"1.9.0", "1.16.156", true},
		{"1.27.0", "1.16.156", false},
	} {
		if got := versionLess(tc.a, tc.b); got != tc.less {
			t.Errorf("versionLess(%s, %s) = %t", tc.a, tc.b, got)
		}
	}
}

// The endpoint check names the setting the region came from as the token
// path does (chain.RegionSource): AWS_DEFAULT_REGION when that is where it
// is set, not AWS_REGION.
func TestEndpointNamesTheRegionSetting(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"AWS_DEFAULT_REGION", "region us-west-2 (AWS_DEFAULT_REGION)"},
		{"AWS_REGION", "region us-west-2 (AWS_REGION)"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			opts, _, _ := setup(t, time.Now)
			kc := os.Getenv("KUBECONFIG")
			b, err := os.ReadFile(kc)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(kc, []byte(strings.Replace(string(b), ", --region, eu-west-1]", "]", 1)), 0o600)
			t.Setenv("AWS_REGION", "")
			os.Unsetenv("AWS_REGION")
			t.Setenv(tc.env, "us-west-2")
			rep := Diagnose(context.Background(), opts)
			if ep := find(t, rep, "endpoint"); !strings.Contains(ep.Message, tc.want) {
				t.Errorf("endpoint = %q, want %q", ep.Message, tc.want)
			}
		})
	}
}
