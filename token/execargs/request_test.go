package execargs

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubeiam/kubeiam/cache"
)

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func parse(t *testing.T, args ...string) *Request {
	t.Helper()
	r := &Request{}
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	r.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKeySeparatesIdentities: anything that could change whose token it is
// changes the key; secrets never appear in it.
func TestKeySeparatesIdentities(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "very-secret", "AWS_SESSION_TOKEN": "session-secret", "AWS_CONFIG_FILE": cfg}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	ref := parse(t, "-i", "c1").Key(envMap(base))
	for _, s := range []string{ref.ClusterID, ref.Region, ref.Profile, ref.RoleARN, ref.Source, ref.Endpoint} {
		if strings.Contains(s, "secret") {
			t.Fatalf("a secret is in the key: %+v", ref)
		}
	}
	if parse(t, "-i", "c1").Key(envMap(with("AWS_SECRET_ACCESS_KEY", "rotated"))).ID() != ref.ID() {
		t.Error("the secret key changed the key ID: it must not be an input")
	}
	differ := map[string]cache.Key{
		"cluster":      parse(t, "-i", "c2").Key(envMap(base)),
		"profile flag": parse(t, "-i", "c1", "--profile", "dev").Key(envMap(base)),
		"AWS_PROFILE":  parse(t, "-i", "c1").Key(envMap(with("AWS_PROFILE", "dev"))),
		"access key":   parse(t, "-i", "c1").Key(envMap(with("AWS_ACCESS_KEY_ID", "AKIA2"))),
		"role":         parse(t, "-i", "c1", "-r", "arn:aws:iam::1:role/a").Key(envMap(base)),
		"external id":  parse(t, "-i", "c1", "-r", "arn:aws:iam::1:role/a", "-e", "x").Key(envMap(base)),
		"session":      parse(t, "-i", "c1", "-r", "arn:aws:iam::1:role/a", "-s", "x").Key(envMap(base)),
		"region":       parse(t, "-i", "c1", "--region", "eu-west-1").Key(envMap(base)),
		"AWS_REGION":   parse(t, "-i", "c1").Key(envMap(with("AWS_REGION", "eu-west-2"))),
		"global":       parse(t, "-i", "c1", "--sts-global").Key(envMap(base)),
		"fips":         parse(t, "-i", "c1").Key(envMap(with("AWS_USE_FIPS_ENDPOINT", "true"))),
		"sts endpoint": parse(t, "-i", "c1").Key(envMap(with("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"))),
		"config file":  parse(t, "-i", "c1").Key(envMap(with("AWS_CONFIG_FILE", filepath.Join(dir, "other")))),
	}
	seen := map[string]string{ref.ID(): "reference"}
	for name, k := range differ {
		if prev, dup := seen[k.ID()]; dup {
			t.Errorf("%s gives the same key as %s", name, prev)
		}
		seen[k.ID()] = name
	}
	// Editing the config file (a new mtime) changes the key too.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(cfg, later, later); err != nil {
		t.Fatal(err)
	}
	if parse(t, "-i", "c1").Key(envMap(base)).ID() == ref.ID() {
		t.Error("editing ~/.aws/config kept the key")
	}
}

func TestBackend(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want cache.Backend
	}{
		{nil, "", cache.Auto},
		{nil, "file", cache.File},
		{[]string{"--cache"}, "none", cache.Auto},
		{[]string{"--cache=true"}, "", cache.Auto},
		{[]string{"--cache=false"}, "", cache.None},
		{[]string{"--cache=keyring"}, "file", cache.Keyring},
		{[]string{"--no-cache"}, "keyring", cache.None},
	} {
		r := parse(t, append([]string{"-i", "c"}, tc.args...)...)
		got, err := r.Backend(envMap(map[string]string{CacheEnv: tc.env}))
		if err != nil || got != tc.want {
			t.Errorf("%v env=%q: %s, %v; want %s", tc.args, tc.env, got, err, tc.want)
		}
	}
	if _, err := parse(t, "--cache=bogus").Backend(envMap(nil)); err == nil {
		t.Error("bogus backend accepted")
	}
}

// The fingerprint hashed into cache keys is what encoding/json makes of it
// (the keys of entries written by earlier versions), though the token path
// no longer calls encoding/json.
func TestFingerprintJSONIsEncodingJSON(t *testing.T) {
	fp := fingerprint{Files: [3]fileStamp{{Path: "/home/u/.aws/config", MTime: 1764633600123456789, Size: 312}, {Path: "<&>\"x\u2028"}, {MTime: -1}}}
	for i := range fp.Env {
		fp.Env[i] = fmt.Sprintf("v%d\x01\xff", i)
	}
	fp.Env[0] = ""
	for _, fp := range []fingerprint{{}, fp} {
		want, err := json.Marshal(fp)
		if err != nil {
			t.Fatal(err)
		}
		if got := fp.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}
