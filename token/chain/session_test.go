package chain_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/ststest"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/chain"
)

// These tests run the SDK's real configuration chain against the STS
// stand-in (SigV4 checked, AssumeRole with trust policies, external IDs and
// MFA), with the environment and files each case sets: no ambient AWS
// configuration reaches them (ststest.Rig.UseAs), so they cannot be
// parallel.

// use points the SDK at rig as id and writes config (the shared config
// file; "" for none).
func use(t *testing.T, rig *ststest.Rig, id ststest.Identity, config string) string {
	t.Helper()
	dir := t.TempDir()
	rig.UseAs(t, id, dir)
	for _, k := range []string{"AWS_DEFAULT_REGION", "AWS_USE_FIPS_ENDPOINT", "AWS_CREDENTIAL_EXPIRATION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_DEFAULT_PROFILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, "aws-config"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func quiet(t *testing.T) *ststest.Rig {
	return ststest.Start(t, ststest.Options{Logf: func(string, ...any) {}})
}

// verify checks tok is a token for clusterID signed with keyID for host.
func verify(t *testing.T, tok token.Token, partition, host, keyID string) {
	t.Helper()
	c, err := token.Verify(tok.Token, partition, time.Now())
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	if c.Host != host || c.AccessKeyID != keyID {
		t.Errorf("token for host %s signed by %s, want %s by %s", c.Host, c.AccessKeyID, host, keyID)
	}
}

func TestNewSessionRefusesOptionsThatCannotWork(t *testing.T) {
	rig := quiet(t)
	use(t, rig, rig.Identity("alice"), "")
	for _, tc := range []struct {
		opts chain.Options
		want string
	}{
		{chain.Options{}, "a cluster ID is required"},
		{chain.Options{ClusterID: "c1", RoleARN: "arn:aws:iam::111122223333:role/KubeAdmin", SessionName: "s", ForwardSessionName: true}, "cannot be used together"},
		{chain.Options{ClusterID: "c1", ExternalID: "x"}, "need --role-arn"},
		{chain.Options{ClusterID: "c1", SessionName: "s"}, "need --role-arn"},
	} {
		if _, err := chain.NewSession(context.Background(), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// The endpoint follows the region wherever it was set, with the SDK's
// precedence: --region, then AWS_REGION, then AWS_DEFAULT_REGION, then the
// profile; none at all signs for token.DefaultRegion.
func TestNewSessionEndpointFollowsTheRegion(t *testing.T) {
	rig := quiet(t)
	for _, tc := range []struct {
		name          string
		env           map[string]string
		config        string
		opts          chain.Options
		host, signing string
	}{
		{"nothing set", nil, "", chain.Options{}, "sts." + token.DefaultRegion + ".amazonaws.com", token.DefaultRegion},
		{"--region", map[string]string{"AWS_REGION": "eu-west-1"}, "", chain.Options{Region: "ap-south-1"}, "sts.ap-south-1.amazonaws.com", "ap-south-1"},
		{"AWS_REGION over AWS_DEFAULT_REGION", map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "", chain.Options{}, "sts.eu-west-1.amazonaws.com", "eu-west-1"},
		{"AWS_DEFAULT_REGION", map[string]string{"AWS_DEFAULT_REGION": "us-west-2"}, "", chain.Options{}, "sts.us-west-2.amazonaws.com", "us-west-2"},
		// A profile named explicitly takes its keys from the files, not the
		// environment (the SDK's rule): the case's config carries alice's.
		{"profile", nil, "[profile dev]\nregion = eu-central-1\naws_access_key_id = AKIAALICE00000000001\naws_secret_access_key = aliceSecretKey0000000000000000000000000001\n", chain.Options{Profile: "dev"}, "sts.eu-central-1.amazonaws.com", "eu-central-1"},
		{"global", map[string]string{"AWS_REGION": "eu-west-1"}, "", chain.Options{STSGlobal: true}, "sts.amazonaws.com", "us-east-1"},
		{"FIPS from the environment", map[string]string{"AWS_REGION": "us-east-2", "AWS_USE_FIPS_ENDPOINT": "true"}, "", chain.Options{}, "sts-fips.us-east-2.amazonaws.com", "us-east-2"},
		{"China", map[string]string{"AWS_REGION": "cn-north-1"}, "", chain.Options{}, "sts.cn-north-1.amazonaws.com.cn", "cn-north-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice := rig.Identity("alice")
			use(t, rig, alice, tc.config)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			opts := tc.opts
			opts.ClusterID = "c1"
			s, err := chain.NewSession(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Endpoint.Host != tc.host || s.Endpoint.SigningRegion != tc.signing {
				t.Fatalf("endpoint %s signing for %s, want %s for %s", s.Endpoint.Host, s.Endpoint.SigningRegion, tc.host, tc.signing)
			}
			tok, creds, err := s.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID != alice.AccessKeyID {
				t.Errorf("signed with %s, want alice's keys from the environment", creds.AccessKeyID)
			}
			verify(t, tok, s.Endpoint.Partition, tc.host, alice.AccessKeyID)
		})
	}
}

// A malformed region is refused before any call, naming the setting it
// came from so the user knows what to fix.
func TestNewSessionNamesWhereABadRegionCameFrom(t *testing.T) {
	rig := quiet(t)
	for _, tc := range []struct {
		name   string
		env    map[string]string
		config string
		opts   chain.Options
		want   string
	}{
		{"--region", nil, "", chain.Options{Region: "EU-West-1"}, `--region "EU-West-1"`},
		{"AWS_REGION", map[string]string{"AWS_REGION": "Eu-West-1"}, "", chain.Options{}, `AWS_REGION "Eu-West-1"`},
		{"AWS_DEFAULT_REGION", map[string]string{"AWS_DEFAULT_REGION": "eu west 1"}, "", chain.Options{}, `AWS_DEFAULT_REGION "eu west 1"`},
		{"profile", nil, "[profile dev]\nregion = euwest\n", chain.Options{Profile: "dev"}, `of profile "dev"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			use(t, rig, rig.Identity("alice"), tc.config)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			opts := tc.opts
			opts.ClusterID = "c1"
			_, err := chain.NewSession(context.Background(), opts)
			var re *token.RegionError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a RegionError naming %s", err, tc.want)
			}
		})
	}
}

func TestNewSessionUnknownProfileNamesTheFiles(t *testing.T) {
	rig := quiet(t)
	dir := use(t, rig, rig.Identity("alice"), "[profile dev]\nregion = eu-west-1\n")
	_, err := chain.NewSession(context.Background(), chain.Options{ClusterID: "c1", Profile: "nope"})
	if err == nil || !strings.Contains(err.Error(), `could not load AWS profile "nope"`) || !strings.Contains(err.Error(), filepath.Join(dir, "aws-config")) {
		t.Fatalf("err = %v, want the profile and the files searched", err)
	}
}

// --role-arn assumes the role with the base credentials: an hour's session,
// the given or a generated session name, the external ID when asked; a
// refusal says which role and why.
func TestCredentialsAssumeRole(t *testing.T) {
	rig := quiet(t)
	ctx := context.Background()
	session := func(t *testing.T, who string, opts chain.Options) (*chain.Session, error) {
		t.Helper()
		use(t, rig, rig.Identity(who), "")
		t.Setenv("AWS_REGION", "eu-west-1")
		opts.ClusterID = "c1"
		return chain.NewSession(ctx, opts)
	}
	roleOf := func(t *testing.T, keyID string) string {
		t.Helper()
		for _, id := range rig.Identities() {
			if id.AccessKeyID == keyID {
				return id.ARN
			}
		}
		t.Fatalf("STS never issued %s", keyID)
		return ""
	}

	t.Run("named session, an hour", func(t *testing.T) {
		s, err := session(t, "alice", chain.Options{RoleARN: "arn:aws:iam::111122223333:role/KubeAdmin", SessionName: "deploy-1"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tok, creds, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := roleOf(t, creds.AccessKeyID); got != "arn:aws:sts::111122223333:assumed-role/KubeAdmin/deploy-1" {
			t.Errorf("signed as %s", got)
		}
		if !creds.CanExpire || creds.Expires.Before(start.Add(59*time.Minute)) || creds.Expires.After(time.Now().Add(61*time.Minute)) {
			t.Errorf("role session expires %s, want about an hour from now", creds.Expires)
		}
		verify(t, tok, "aws", "sts.eu-west-1.amazonaws.com", creds.AccessKeyID)
	})

	t.Run("generated session name", func(t *testing.T) {
		s, err := session(t, "alice", chain.Options{RoleARN: "arn:aws:iam::111122223333:role/KubeAdmin", Now: func() time.Time { return time.Unix(1700000000, 0) }})
		if err != nil {
			t.Fatal(err)
		}
		creds, err := s.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := roleOf(t, creds.AccessKeyID); got != "arn:aws:sts::111122223333:assumed-role/KubeAdmin/kubeiam-1700000000" {
			t.Errorf("signed as %s", got)
		}
	})

	t.Run("forwarded session name", func(t *testing.T) {
		s, err := session(t, "ops-session", chain.Options{RoleARN: "arn:aws:iam::444455556666:role/KubeViewer", ForwardSessionName: true})
		if err != nil {
			t.Fatal(err)
		}
		creds, err := s.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := roleOf(t, creds.AccessKeyID); got != "arn:aws:sts::444455556666:assumed-role/KubeViewer/ops-session" {
			t.Errorf("signed as %s, want the caller's session name forwarded", got)
		}
	})

	t.Run("external ID", func(t *testing.T) {
		for _, ext := range []string{"partner-ext-id", "wrong"} {
			s, err := session(t, "carol", chain.Options{RoleARN: "arn:aws:iam::444455556666:role/Partner", ExternalID: ext})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Credentials(ctx)
			if ok := ext == "partner-ext-id"; (err == nil) != ok {
				t.Errorf("external ID %q: %v", ext, err)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		s, err := session(t, "bob", chain.Options{RoleARN: "arn:aws:iam::111122223333:role/AliceOnly"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Credentials(ctx)
		want := "could not assume role arn:aws:iam::111122223333:role/AliceOnly: access denied"
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v, want one line %q", err, want)
		}
		if strings.Contains(err.Error(), rig.Identity("bob").SecretAccessKey) {
			t.Error("the error shows the secret key")
		}
	})
}

// A profile whose role needs MFA prompts on the given streams when
// interactive, and says why it cannot otherwise, without a call that would
// fail anyway.
func TestCredentialsMFAPrompt(t *testing.T) {
	rig := quiet(t)
	config := "[profile mfa]\nrole_arn = arn:aws:iam::111122223333:role/MFARequired\nsource_profile = base\nmfa_serial = arn:aws:iam::111122223333:mfa/alice\nregion = eu-west-1\n" +
		"[profile base]\nregion = eu-west-1\n"
	ctx := context.Background()
	alice := rig.Identity("alice")
	for _, tc := range []struct {
		name        string
		interactive bool
		input       string
		want        string // error; "" for success
	}{
		{"interactive", true, "123456\n", ""},
		{"not interactive", false, "123456\n", chain.ErrMFANotInteractive.Error()},
		{"empty code", true, "\n", "could not read the MFA code: it is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := use(t, rig, alice, config)
			// The base profile's keys come from the credentials file.
			creds := "[base]\naws_access_key_id = " + alice.AccessKeyID + "\naws_secret_access_key = " + alice.SecretAccessKey + "\n"
			if err := os.WriteFile(filepath.Join(dir, "aws-credentials"), []byte(creds), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Unsetenv("AWS_ACCESS_KEY_ID")
			os.Unsetenv("AWS_SECRET_ACCESS_KEY")
			os.Unsetenv("AWS_SESSION_TOKEN")
			var prompt bytes.Buffer
			s, err := chain.NewSession(ctx, chain.Options{ClusterID: "c1", Profile: "mfa", Interactive: tc.interactive,
				Prompt: &prompt, Input: strings.NewReader(tc.input)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Credentials(ctx)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				if tc.interactive != (prompt.Len() > 0) {
					t.Errorf("prompt %q", prompt.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if prompt.String() != "Assume Role MFA token code: " {
				t.Errorf("prompt %q", prompt.String())
			}
			if got.AccessKeyID == alice.AccessKeyID || !got.CanExpire {
				t.Errorf("credentials are alice's own, not the role's")
			}
		})
	}
}

// AWS_CREDENTIAL_EXPIRATION, which the Go SDK ignores, makes environment
// keys expire: expired ones are refused with their source named, a
// malformed value is an error rather than keys taken for long-lived.
func TestCredentialsHonourAWSCredentialExpiration(t *testing.T) {
	rig := quiet(t)
	ctx := context.Background()
	for _, tc := range []struct {
		value string
		want  string
	}{
		{time.Now().Add(time.Hour).UTC().Format(time.RFC3339), ""},
		{time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "from the environment"},
		{"tomorrow", "is not an RFC 3339 time"},
	} {
		use(t, rig, rig.Identity("alice"), "")
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_CREDENTIAL_EXPIRATION", tc.value)
		s, err := chain.NewSession(ctx, chain.Options{ClusterID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		creds, err := s.Credentials(ctx)
		if tc.want == "" {
			if err != nil || !creds.CanExpire || creds.Source != chain.EnvSource {
				t.Errorf("%s: %+v %v", tc.value, creds.Expires, err)
			}
			continue
		}
		var ee *token.ExpiringError
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.value, err, tc.want)
		} else if tc.want == "from the environment" && !errors.As(err, &ee) {
			t.Errorf("%s: %T is not an ExpiringError", tc.value, err)
		}
	}
}

// No credentials anywhere: one line saying so, not the SDK's chain dump.
func TestCredentialsNoneFound(t *testing.T) {
	rig := quiet(t)
	use(t, rig, ststest.Identity{}, "")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		os.Unsetenv(k)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := chain.NewSession(ctx, chain.Options{ClusterID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Credentials(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "could not find AWS credentials") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v", err)
	}
}
