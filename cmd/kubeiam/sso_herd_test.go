package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// TestTokenSSOHerd: kubectl starts many plugin processes at once on an SSO
// session nobody is signed in to (a GUI tool opted in with
// KUBEIAM_SSO_LOGIN=browser). One of them signs in; the rest wait on the
// cache lock and use its result: one sign-in (one CreateToken), one
// GetRoleCredentials, and the same token printed by all.
func TestTokenSSOHerd(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	writeFile(t, cfg, "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n"+
		"[profile dev]\nsso_session = corp\nsso_account_id = "+ststest.AccountA+"\nsso_role_name = KubeAdmin\nregion = us-west-2\n")
	// The person's browser: this test binary under the name browse.
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "browse")); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "AWS_CONFIG_FILE=" + cfg, "AWS_ENDPOINT_URL_STS=" + rig.Endpoint,
		"AWS_ENDPOINT_URL_SSO_OIDC=" + rig.SSOEndpoint, "AWS_ENDPOINT_URL_SSO=" + rig.SSOEndpoint,
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "KUBEIAM_CACHE=file", "KUBEIAM_SSO_LOGIN=browser",
		"BROWSER=browse", "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	const n = 8
	tokens, stderrs := make([]string, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := kubeiamCmd(t, env, "token", "-i", "sso-herd", "--profile", "dev", "--token-only")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("process %d: %v\n%s", i, err, errb.String())
			}
			tokens[i], stderrs[i] = strings.TrimSpace(string(out)), errb.String()
		}()
	}
	wg.Wait()
	signIns := 0
	for _, s := range stderrs {
		signIns += strings.Count(s, "needs a sign-in")
	}
	if signIns != 1 {
		t.Errorf("%d processes showed a sign-in, want 1:\n%s", signIns, strings.Join(stderrs, "\n---\n"))
	}
	for _, op := range []string{"CreateToken", "GetRoleCredentials"} {
		if got := rig.SSO.Count(op); got != 1 {
			t.Errorf("%d concurrent calls made %d %s calls, want 1", n, got, op)
		}
	}
	for i, tok := range tokens {
		if tok != tokens[0] || !strings.HasPrefix(tok, "k8s-aws-v1.") {
			t.Errorf("process %d printed %.20q, process 0 %.20q", i, tok, tokens[0])
		}
	}
}
