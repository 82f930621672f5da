package front

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/internal/execcred"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// brokenStdout takes part of the first write and then fails, as a pipe
// whose reader went away does; it counts the writes it was asked for.
type brokenStdout struct {
	got    bytes.Buffer
	writes int
}

func (b *brokenStdout) Write(p []byte) (int, error) {
	b.writes++
	n := len(p) / 2
	b.got.Write(p[:n])
	return n, errors.New("broken pipe")
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// A write of the answer that fails still answers: the front says so and
// exits non-zero, and never hands the call to kubeiam-core, which would
// write a second ExecCredential after the first one's bytes.
func TestFrontWriteFailureAnswersOnce(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	t.Run("static keys", func(t *testing.T) {
		getenv := env(map[string]string{
			"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE000000001", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1",
			"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "HOME": dir,
		})
		var out brokenStdout
		var errOut bytes.Buffer
		answered, code := serve(context.Background(), "kubeiam", []string{"-i", "c1"}, getenv, &out, &errOut, now)
		if !answered || code == 0 || out.writes != 1 || !strings.Contains(errOut.String(), "could not write the credential: broken pipe") {
			t.Fatalf("answered %t, code %d, %d writes, stderr %q: want one failed write, answered with an error", answered, code, out.writes, errOut.String())
		}
	})
	t.Run("cached token", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
		config := filepath.Join(dir, "config")
		os.WriteFile(config, []byte("[profile dev]\nregion = eu-west-1\n"), 0o600)
		vars := map[string]string{"AWS_PROFILE": "dev", "AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": config,
			"HOME": dir, "KUBEIAM_CACHE": "file", "XDG_CACHE_HOME": filepath.Join(dir, "cache")}
		getenv := env(vars)
		req := execargs.Request{ClusterID: "c1"}
		ep, err := token.EndpointFor("eu-west-1", false, false)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := token.Presign(context.Background(), aws.Credentials{AccessKeyID: "ASIAEXAMPLE000000001", SecretAccessKey: "s", SessionToken: "t"}, "c1", ep, now)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cache.Open(execcred.CacheOptions(cache.File, getenv))
		if err != nil {
			t.Fatal(err)
		}
		want := execcred.ExpectFor(&req, getenv)
		if err := c.Put(context.Background(), &cache.Entry{Key: want.Key, Token: tok.Token, TokenExpiry: tok.Expiration}); err != nil {
			t.Fatal(err)
		}
		if e := execcred.Lookup(context.Background(), c, want, now, 0); e == nil {
			t.Fatal("the planted entry does not answer the request")
		}
		var out brokenStdout
		var errOut bytes.Buffer
		answered, code := serve(context.Background(), "kubeiam", []string{"-i", "c1"}, getenv, &out, &errOut, now)
		if !answered || code == 0 || out.writes != 1 || !strings.Contains(errOut.String(), "could not write the credential: broken pipe") {
			t.Fatalf("answered %t, code %d, %d writes, stderr %q: want one failed write, answered with an error", answered, code, out.writes, errOut.String())
		}
	})
}
