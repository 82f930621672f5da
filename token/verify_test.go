package token

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tokenFor(t *testing.T, rawURL string) string {
	t.Helper()
	return Prefix + base64.RawURLEncoding.EncodeToString([]byte(rawURL))
}

func TestVerifyAcceptsOurTokens(t *testing.T) {
	for _, region := range []string{"us-west-2", "cn-north-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1"} {
		ep := mustEndpoint(t, region, false, false)
		tok, err := Presign(context.Background(), staticCreds, "c", ep, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Verify(tok.Token, ep.Partition, fixedNow.Add(time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		if c.Host != ep.Host || c.Region != region || c.AccessKeyID != staticCreds.AccessKeyID || !c.SignedAt.Equal(fixedNow) || c.SessionToken {
			t.Errorf("%s: claims %+v", region, c)
		}
	}
}

// TestVerifyChecks breaks one server rule at a time and expects that check
// to be named.
func TestVerifyChecks(t *testing.T) {
	tok, err := Presign(context.Background(), staticCreds, "c", mustEndpoint(t, "us-west-2", false, false), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	good := decode(t, tok.Token).String()
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q not in %s", old, good)
		}
		return tokenFor(t, strings.Replace(good, old, new, 1))
	}
	for _, tc := range []struct {
		name, token, partition, check string
		now                           time.Time
	}{
		{"too long", tok.Token + strings.Repeat("A", MaxLength), "aws", "length", fixedNow},
		{"prefix", strings.TrimPrefix(tok.Token, Prefix), "aws", "prefix", fixedNow},
		{"padding", tok.Token + "==", "aws", "base64url", fixedNow},
		{"scheme", replace("https://", "http://"), "aws", "scheme", fixedNow},
		{"foreign host", replace("sts.us-west-2.amazonaws.com", "sts.example.com"), "aws", "host", fixedNow},
		{"port", replace("sts.us-west-2.amazonaws.com", "sts.us-west-2.amazonaws.com:443"), "aws", "host", fixedNow},
		{"wrong partition", tok.Token, "aws-cn", "host", fixedNow},
		{"path", replace(".com/?", ".com/x?"), "aws", "path", fixedNow},
		{"extra parameter", replace("Version=", "Foo=1&Version="), "aws", "parameters", fixedNow},
		{"duplicate", replace("Version=", "action=GetCallerIdentity&Version="), "aws", "duplicate-parameters", fixedNow},
		{"action", replace("GetCallerIdentity", "AssumeRole"), "aws", "action", fixedNow},
		{"unsigned cluster id", replace("host%3Bx-k8s-aws-id", "host"), "aws", "signed-cluster-id", fixedNow},
		{"expires", replace("X-Amz-Expires=60", "X-Amz-Expires=901"), "aws", "expires", fixedNow},
		{"expired", tok.Token, "aws", "expiry", fixedNow.Add(15*time.Minute + time.Second)},
		{"unknown partition", tok.Token, "aws-mars", "partition", fixedNow},
	} {
		_, err := Verify(tc.token, tc.partition, tc.now)
		var ce *CheckError
		if !errors.As(err, &ce) || ce.Check != tc.check {
			t.Errorf("%s: err = %v, want check %q", tc.name, err, tc.check)
		}
	}
	// The edge: still valid at exactly 15 minutes.
	if _, err := Verify(tok.Token, "aws", fixedNow.Add(15*time.Minute)); err != nil {
		t.Errorf("at 15m: %v", err)
	}
}

// TestVerifyPeerTokens: tokens made by the tools users have today pass our
// checks, so `kubeiam verify` is a faithful stand-in for the server.
func TestVerifyPeerTokens(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+staticCreds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+staticCreds.SecretAccessKey,
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_DEFAULT_REGION=us-west-2", "AWS_REGION=us-west-2")
	peers := map[string][]string{}
	if bin := authenticatorBinary(); bin != "" {
		peers["aws-iam-authenticator v0.7.2"] = []string{bin, "token", "-i", "peer-cluster", "--token-only"}
		peers["aws-iam-authenticator v0.7.2 --region"] = []string{bin, "token", "-i", "peer-cluster", "--token-only", "--region", "eu-west-1"}
	} else if os.Getenv("KUBEIAM_TEST_PEERS") == "1" {
		t.Error("aws-iam-authenticator v0.7.2 not found: set KUBEIAM_AUTHENTICATOR_BIN or build it into the e2e cache")
	}
	if aws, err := exec.LookPath("aws"); err == nil {
		peers["aws eks get-token"] = []string{aws, "eks", "get-token", "--cluster-name", "peer-cluster", "--output", "json"}
	} else if os.Getenv("KUBEIAM_TEST_PEERS") == "1" {
		t.Error("the aws CLI is not installed")
	}
	if len(peers) == 0 {
		t.Skip("no peer client found (aws-iam-authenticator v0.7.2, aws CLI)")
	}
	for name, argv := range peers {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v", argv, err)
			}
			tok := strings.TrimSpace(string(out))
			if i := strings.Index(tok, Prefix); i >= 0 { // ExecCredential JSON: pull the token out
				tok = tok[i:]
				tok = tok[:strings.IndexAny(tok+`"`, `"`)]
			}
			c, err := Verify(tok, "aws", time.Now())
			if err != nil {
				t.Fatalf("kubeiam verify rejects %s's token: %v", name, err)
			}
			if c.AccessKeyID != staticCreds.AccessKeyID {
				t.Errorf("access key ID %q", c.AccessKeyID)
			}
			got, want, err := presignedSignature(c.url, "peer-cluster", staticCreds.SecretAccessKey)
			if err != nil || got != want {
				t.Errorf("peer signature does not recompute: %v", err)
			}
		})
	}
}

// authenticatorBinary finds aws-iam-authenticator v0.7.2: the variable, then
// the e2e rig's build cache.
func authenticatorBinary() string {
	if b := os.Getenv("KUBEIAM_AUTHENTICATOR_BIN"); b != "" {
		return b
	}
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache")
	}
	b := filepath.Join(dir, "kubeiam", "e2e", "bin", "aws-iam-authenticator-v0.7.2", "aws-iam-authenticator")
	if _, err := os.Stat(b); err == nil {
		return b
	}
	return ""
}

func TestCanonicalARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::111122223333:assumed-role/Admin/alice":        "arn:aws:iam::111122223333:role/Admin",
		"arn:aws-cn:sts::111122223333:assumed-role/Dev/i-0abc":      "arn:aws-cn:iam::111122223333:role/Dev",
		"arn:aws:iam::111122223333:user/bob":                        "arn:aws:iam::111122223333:user/bob",
		"arn:aws:iam::111122223333:role/Admin":                      "arn:aws:iam::111122223333:role/Admin",
		"arn:aws:iam::111122223333:root":                            "arn:aws:iam::111122223333:root",
		"arn:aws:sts::111122223333:federated-user/carol":            "arn:aws:sts::111122223333:federated-user/carol",
		"arn:aws-us-gov:sts::111122223333:assumed-role/Ops/session": "arn:aws-us-gov:iam::111122223333:role/Ops",
	} {
		if got, err := CanonicalARN(in); err != nil || got != want {
			t.Errorf("CanonicalARN(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "arn:aws:s3:::bucket", "not-an-arn", "arn:aws:sts::1:assumed-role/OnlyRole"} {
		if _, err := CanonicalARN(bad); err == nil {
			t.Errorf("CanonicalARN(%q) accepted", bad)
		}
	}
}
