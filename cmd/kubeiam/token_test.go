package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/token"
)

// kubeiamCmd returns a command that runs this test binary as kubeiam (the
// testscript main table dispatches on the program name), in an environment
// with no ambient AWS configuration and a private cache directory.
func kubeiamCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	link := filepath.Join(dir, "kubeiam")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, args...)
	cmd.Env = append(cleanEnv(), env...)
	return cmd
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "KUBE") && !strings.HasPrefix(kv, "XDG_CACHE_HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
}

func identityEnv(id ststest.Identity) []string {
	env := []string{"AWS_ACCESS_KEY_ID=" + id.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + id.SecretAccessKey}
	if id.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+id.SessionToken)
	}
	return env
}

type execCredential struct {
	APIVersion string
	Status     struct {
		Token               string
		ExpirationTimestamp time.Time
	}
}

func run(t *testing.T, cmd *exec.Cmd) (execCredential, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ec execCredential
	if err == nil {
		if jerr := json.Unmarshal(out.Bytes(), &ec); jerr != nil {
			t.Fatalf("stdout is not an ExecCredential: %v\n%s", jerr, out.String())
		}
	} else if out.Len() > 0 {
		t.Errorf("a failed call wrote to stdout: %q", out.String())
	}
	return ec, errOut.String(), err
}

// whoami asks the STS stand-in who a token belongs to, as the
// authenticator server does: through the proxy, under the real host name.
func whoami(t *testing.T, rig *ststest.Rig, tok, clusterID string) *token.Identity {
	t.Helper()
	claims, err := token.Verify(tok, "aws", time.Now())
	if err != nil {
		t.Fatalf("the token fails the server's checks: %v", err)
	}
	id, err := claims.CallerIdentity(t.Context(), rig.Proxy.Client(), clusterID)
	if err != nil {
		t.Fatalf("STS rejects the token: %v", err)
	}
	return id
}

func TestTokenAssumeRoleAndCache(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{})
	alice := rig.Identity("alice")
	cacheDir := t.TempDir()
	env := append(identityEnv(alice), "AWS_ENDPOINT_URL_STS="+rig.Endpoint, "AWS_REGION=us-west-2",
		"XDG_CACHE_HOME="+cacheDir, "KUBEIAM_CACHE=file")
	role := "arn:aws:iam::" + ststest.AccountA + ":role/KubeAdmin"

	ec, stderr, err := run(t, kubeiamCmd(t, env, "token", "-i", "c1", "-r", role, "-s", "alice-laptop"))
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	id := whoami(t, rig, ec.Status.Token, "c1")
	if id.ARN != "arn:aws:sts::"+ststest.AccountA+":assumed-role/KubeAdmin/alice-laptop" || id.CanonicalARN != role {
		t.Errorf("caller %+v", id)
	}
	if n := rig.Count("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1", n)
	}
	// The token is bound to its cluster: STS refuses it for another ID.
	claims, _ := token.Verify(ec.Status.Token, "aws", time.Now())
	if _, err := claims.CallerIdentity(t.Context(), rig.Proxy.Client(), "another-cluster"); err == nil {
		t.Error("a token for c1 was accepted for another cluster")
	}

	// A second call is a cache hit: the same token, no STS call.
	ec2, stderr, err := run(t, kubeiamCmd(t, env, "token", "-i", "c1", "-r", role, "-s", "alice-laptop"))
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if ec2.Status.Token != ec.Status.Token || rig.Count("AssumeRole") != 1 {
		t.Errorf("second call: same token %t, AssumeRole calls %d", ec2.Status.Token == ec.Status.Token, rig.Count("AssumeRole"))
	}
	// Requiring more validity than the token has left forces a new token,
	// signed locally with the cached role credentials: still one AssumeRole.
	ec3, stderr, err := run(t, kubeiamCmd(t, append(env, "KUBEIAM_CACHE_MIN_REMAINING=14m"), "token", "-i", "c1", "-r", role, "-s", "alice-laptop"))
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if rig.Count("AssumeRole") != 1 {
		t.Errorf("re-signing assumed the role again: %d calls", rig.Count("AssumeRole"))
	}
	if whoami(t, rig, ec3.Status.Token, "c1").CanonicalARN != role {
		t.Error("re-signed token has another identity")
	}
	// Another identity (or session name) never gets that token.
	bob := rig.Identity("bob")
	envBob := append(identityEnv(bob), "AWS_ENDPOINT_URL_STS="+rig.Endpoint, "AWS_REGION=us-west-2", "XDG_CACHE_HOME="+cacheDir, "KUBEIAM_CACHE=file")
	ec4, stderr, err := run(t, kubeiamCmd(t, envBob, "token", "-i", "c1"))
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if got := whoami(t, rig, ec4.Status.Token, "c1"); got.ARN != bob.ARN {
		t.Errorf("bob got a token of %s", got.ARN)
	}
	// The token's expiry never passes the role session's (1 hour here).
	if !ec.Status.ExpirationTimestamp.After(time.Now()) || ec.Status.ExpirationTimestamp.After(time.Now().Add(14*time.Minute+time.Second)) {
		t.Errorf("expirationTimestamp %s", ec.Status.ExpirationTimestamp)
	}
}

func TestTokenRoleErrors(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{})
	bob := rig.Identity("bob")
	base := append(identityEnv(bob), "AWS_ENDPOINT_URL_STS="+rig.Endpoint, "KUBEIAM_CACHE=none")
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		env   []string
		want  string
	}{
		{"denied", []string{"-r", "arn:aws:iam::" + ststest.AccountA + ":role/AliceOnly"}, "", nil,
			"could not assume role arn:aws:iam::" + ststest.AccountA + ":role/AliceOnly: access denied"},
		{"missing external id", []string{"-r", "arn:aws:iam::" + ststest.AccountB + ":role/Partner"}, "", nil, "access denied"},
		{"throttled", []string{"-r", "arn:aws:iam::" + ststest.AccountA + ":role/KubeAdmin"}, "", []string{"THROTTLE=1"}, "STS is throttling requests and retries did not get through"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				rig.FailNext(100, 400)
				defer rig.FailNext(0, 0)
			}
			cmd := kubeiamCmd(t, base, append([]string{"token", "-i", "c1"}, tc.args...)...)
			_, stderr, err := run(t, cmd)
			if err == nil {
				t.Fatal("succeeded")
			}
			if !strings.Contains(stderr, tc.want) || !strings.HasPrefix(stderr, "kubeiam: ") {
				t.Errorf("stderr %q, want %q", stderr, tc.want)
			}
			if strings.Contains(stderr, bob.SecretAccessKey) {
				t.Error("the secret key reached stderr")
			}
		})
	}
	// With the external ID the role is assumed.
	ec, stderr, err := run(t, kubeiamCmd(t, base, "token", "-i", "c1", "-r", "arn:aws:iam::"+ststest.AccountB+":role/Partner", "-e", "partner-ext-id"))
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if got := whoami(t, rig, ec.Status.Token, "c1").CanonicalARN; got != "arn:aws:iam::"+ststest.AccountB+":role/Partner" {
		t.Errorf("caller %s", got)
	}
	// Two throttled answers are retried with backoff and then succeed.
	rig.FailNext(2, 400)
	if _, stderr, err := run(t, kubeiamCmd(t, base, "token", "-i", "c1", "-r", "arn:aws:iam::"+ststest.AccountA+":role/KubeAdmin")); err != nil {
		t.Errorf("did not retry through throttling: %s", stderr)
	}
}

func TestTokenForwardSessionNameAndMFA(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{})
	ops := rig.Identity("ops-session")
	env := append(identityEnv(ops), "AWS_ENDPOINT_URL_STS="+rig.Endpoint, "KUBEIAM_CACHE=none")
	ec, stderr, err := run(t, kubeiamCmd(t, env, "token", "-i", "c1", "-r", "arn:aws:iam::"+ststest.AccountB+":role/KubeViewer", "--forward-session-name"))
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if got := whoami(t, rig, ec.Status.Token, "c1").ARN; got != "arn:aws:sts::"+ststest.AccountB+":assumed-role/KubeViewer/ops-session" {
		t.Errorf("forwarded session: caller %s", got)
	}

	// A profile with mfa_serial: kubectl says interactive, the code is read
	// from stdin after a prompt on stderr.
	alice := rig.Identity("alice")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("[profile mfa]\nrole_arn = arn:aws:iam::"+ststest.AccountA+":role/MFARequired\nsource_profile = base\nmfa_serial = arn:aws:iam::"+ststest.AccountA+":mfa/alice\nregion = us-east-1\n"), 0o600)
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(creds, []byte("[base]\naws_access_key_id = "+alice.AccessKeyID+"\naws_secret_access_key = "+alice.SecretAccessKey+"\n"), 0o600)
	cmd := kubeiamCmd(t, []string{"AWS_ENDPOINT_URL_STS=" + rig.Endpoint, "KUBEIAM_CACHE=file", "XDG_CACHE_HOME=" + dir,
		"KUBERNETES_EXEC_INFO={\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":true}}"},
		"token", "-i", "c1", "--profile", "mfa")
	cmd.Env = append(cmd.Env, "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+creds)
	cmd.Stdin = strings.NewReader("123456\n")
	ec, stderr, err = run(t, cmd)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if !strings.Contains(stderr, "Assume Role MFA token code: ") {
		t.Errorf("no prompt on stderr: %q", stderr)
	}
	if ec.APIVersion != "client.authentication.k8s.io/v1" {
		t.Errorf("apiVersion %s", ec.APIVersion)
	}
	if got := whoami(t, rig, ec.Status.Token, "c1").CanonicalARN; got != "arn:aws:iam::"+ststest.AccountA+":role/MFARequired" {
		t.Errorf("caller %s", got)
	}
	// The MFA session is cached: the next call, not interactive, needs no code.
	cmd = kubeiamCmd(t, []string{"AWS_ENDPOINT_URL_STS=" + rig.Endpoint, "KUBEIAM_CACHE=file", "XDG_CACHE_HOME=" + dir, "KUBEIAM_CACHE_MIN_REMAINING=14m"},
		"token", "-i", "c1", "--profile", "mfa")
	cmd.Env = append(cmd.Env, "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+creds)
	if _, stderr, err = run(t, cmd); err != nil {
		t.Errorf("second call after MFA: %v: %s", err, stderr)
	}
}

// TestTokenHerd: many kubectl processes started at once for the same
// cluster and role make one AssumeRole between them and print the same token.
func TestTokenHerd(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{})
	// A slow STS keeps the refresh going while the whole herd starts.
	rig.SetLatency(500 * time.Millisecond)
	alice := rig.Identity("alice")
	env := append(identityEnv(alice), "AWS_ENDPOINT_URL_STS="+rig.Endpoint, "XDG_CACHE_HOME="+t.TempDir(), "KUBEIAM_CACHE=file")
	const n = 32
	tokens := make([]string, n)
	stderrs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := kubeiamCmd(t, env, "token", "-i", "herd", "-r", "arn:aws:iam::"+ststest.AccountA+":role/KubeAdmin", "--token-only", "-v")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("process %d: %v", i, err)
			}
			tokens[i], stderrs[i] = strings.TrimSpace(string(out)), errb.String()
		}()
	}
	wg.Wait()
	// The herd waits in front processes: they take the entry's lock before
	// any kubeiam-core starts and hand it over across exec, so exactly one
	// core runs and every other call is answered from the cache by a front.
	// A core that had to wait for the lock would say "refreshed by another".
	fromCache, coresWaited := 0, 0
	for _, s := range stderrs {
		if strings.Contains(s, "kubeiam: cached token") {
			fromCache++
		}
		if strings.Contains(s, "token refreshed by another kubeiam process") {
			coresWaited++
		}
	}
	if fromCache != n-1 || coresWaited != 0 {
		t.Errorf("%d of %d calls answered from the cache by the front, %d cores waited for the lock; want %d and 0", fromCache, n, coresWaited, n-1)
	}
	if got := rig.Count("AssumeRole"); got != 1 {
		t.Errorf("%d concurrent cold calls made %d AssumeRole calls, want 1", n, got)
	}
	for i, tok := range tokens {
		if tok != tokens[0] {
			t.Errorf("process %d printed another token", i)
		}
	}
	whoami(t, rig, tokens[0], "herd")
}

// TestVerifySTS: `kubeiam verify --sts` asks STS, through HTTPS_PROXY under
// the real host name, as the server would, and names the caller.
func TestVerifySTS(t *testing.T) {
	rig := ststest.Start(t, ststest.Options{})
	carol := rig.Identity("carol")
	env := append(identityEnv(carol), "AWS_REGION=eu-west-1", "KUBEIAM_CACHE=none")
	out, err := kubeiamCmd(t, env, "token", "-i", "c9", "--token-only").Output()
	if err != nil {
		t.Fatal(err)
	}
	verify := func(clusterID string) (string, error) {
		cmd := kubeiamCmd(t, rig.Env(), "verify", "-t", strings.TrimSpace(string(out)), "-i", clusterID, "--sts")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	got, err := verify("c9")
	if err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	for _, want := range []string{"host           sts.eu-west-1.amazonaws.com", "caller         " + carol.ARN, "canonical ARN  " + carol.ARN} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// For another cluster ID the signature does not match: check "sts" fails.
	got, err = verify("other")
	if err == nil || !strings.Contains(got, `check "sts" failed: STS answered 403`) {
		t.Errorf("another cluster ID: %v: %s", err, got)
	}
	if strings.Contains(got, "X-Amz-Signature") {
		t.Error("the presigned URL (a credential) was printed")
	}
}

// TestFrontStaticMatchesCore: where the front signs static environment keys
// itself, its token is the one kubeiam-core (the SDK's chain) would make.
func TestFrontStaticMatchesCore(t *testing.T) {
	keys := []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=secret"}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"AWS_REGION", []string{"AWS_REGION=eu-west-1"}, nil},
		{"AWS_DEFAULT_REGION", []string{"AWS_DEFAULT_REGION=ap-south-1"}, nil},
		{"both, AWS_REGION wins", []string{"AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=ap-south-1"}, nil},
		{"--region wins", []string{"AWS_REGION=eu-west-1"}, []string{"--region", "us-east-2"}},
		{"global", []string{"AWS_REGION=eu-west-1"}, []string{"--sts-global"}},
		{"fips env", []string{"AWS_REGION=us-east-1", "AWS_USE_FIPS_ENDPOINT=true"}, nil},
		{"fips flag", []string{"AWS_REGION=us-west-2"}, []string{"--fips"}},
		{"govcloud fips", []string{"AWS_REGION=us-gov-west-1", "AWS_USE_FIPS_ENDPOINT=true"}, nil},
		{"china", []string{"AWS_REGION=cn-north-1"}, nil},
		{"session token", []string{"AWS_REGION=eu-west-1", "AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE"}, nil},
		{"region newer than the table", []string{"AWS_REGION=ap-southeast-9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string{}, keys...), tc.env...)
			args := append([]string{"token", "-i", "c1", "--token-only"}, tc.args...)
			front := kubeiamCmd(t, append(env, "KUBEIAM_CORE=/nonexistent"), args...)
			var frontErr bytes.Buffer
			front.Stderr = &frontErr
			fo, err := front.Output()
			if err != nil {
				t.Fatalf("the front did not answer alone: %v", err)
			}
			core := kubeiamCmd(t, append(env, "KUBEIAM_CACHE=none", "KUBEIAM_INVOKED_AS=kubeiam"), args...)
			core.Args[0] = "kubeiam-core"
			core.Path = filepath.Join(filepath.Dir(core.Path), "kubeiam-core")
			if err := os.Symlink(mustExecutable(t), core.Path); err != nil {
				t.Fatal(err)
			}
			var coreErr bytes.Buffer
			core.Stderr = &coreErr
			co, err := core.Output()
			if err != nil {
				t.Fatalf("core: %v: %s", err, coreErr.String())
			}
			if a, b := stripSignature(t, string(fo)), stripSignature(t, string(co)); a != b {
				t.Errorf("front and core differ:\nfront %s\ncore  %s", a, b)
			}
			// Warnings too (an unknown region's).
			if warned := strings.Contains(frontErr.String(), "kubeiam: warning: region ap-southeast-9 is not in kubeiam's region table"); warned != strings.Contains(tc.name, "newer") {
				t.Errorf("front stderr %q", frontErr.String())
			}
			if frontErr.String() != coreErr.String() {
				t.Errorf("front and core warn differently:\nfront %q\ncore  %q", frontErr.String(), coreErr.String())
			}
		})
	}
}

func mustExecutable(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// stripSignature decodes a token and drops what depends on the second it
// was signed in.
func stripSignature(t *testing.T, tok string) string {
	t.Helper()
	claims, err := token.Verify(strings.TrimSpace(tok), token.PartitionForRegion("").ID, time.Now())
	if err != nil {
		// Other partitions: fall back to the host-independent parts.
		for _, p := range token.Partitions() {
			if claims, err = token.Verify(strings.TrimSpace(tok), p.ID, time.Now()); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("%v: %s", err, tok)
		}
	}
	return fmt.Sprintf("host=%s region=%s partition=%s akid=%s session=%t", claims.Host, claims.Region, claims.Partition, claims.AccessKeyID, claims.SessionToken)
}
