package token

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	fixedNow    = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	staticCreds = aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
)

func decode(t *testing.T, tok string) *url.URL {
	t.Helper()
	if !strings.HasPrefix(tok, Prefix) {
		t.Fatalf("token %q lacks prefix", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, Prefix))
	if err != nil {
		t.Fatalf("token is not unpadded base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustEndpoint(t *testing.T, region string, global, fips bool) Endpoint {
	t.Helper()
	ep, err := EndpointFor(region, global, fips)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// TestPresignGolden: a fixed clock and static credentials give exactly the
// token in testdata, whose signature is also recomputed from the spec.
func TestPresignGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		region string
		global bool
		creds  aws.Credentials
	}{
		{"regional-static", "us-west-2", false, staticCreds},
		{"global-static", "eu-west-1", true, staticCreds},
		{"regional-session", "eu-central-1", false, aws.Credentials{AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: staticCreds.SecretAccessKey, SessionToken: "FwoGZXIvYXdzEJr//////////wEaDKexample+token/==", CanExpire: true, Expires: fixedNow.Add(time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Presign(context.Background(), tc.creds, "c1d2e3", mustEndpoint(t, tc.region, tc.global, false), fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".token")
			if *update {
				if err := os.WriteFile(golden, []byte(tok.Token+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./token -update once to create it)", err)
			}
			if tok.Token != strings.TrimSpace(string(want)) {
				t.Errorf("token changed\n got %s\nwant %s", tok.Token, want)
			}
			got, wantSig, err := presignedSignature(decode(t, tok.Token).String(), "c1d2e3", tc.creds.SecretAccessKey)
			if err != nil {
				t.Fatal(err)
			}
			if got != wantSig {
				t.Errorf("signature %s, recomputed from the spec %s", got, wantSig)
			}
			// A different cluster ID must not verify: the header is signed.
			if _, other, _ := presignedSignature(decode(t, tok.Token).String(), "another", tc.creds.SecretAccessKey); other == got {
				t.Error("the signature does not depend on the cluster ID")
			}
		})
	}
}

// TestPresignFormat checks the URL against the documented format.
func TestPresignFormat(t *testing.T) {
	tok, err := Presign(context.Background(), staticCreds, "my-cluster", mustEndpoint(t, "us-west-2", false, false), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok.Token, "=") {
		t.Errorf("token has base64 padding: %s", tok.Token)
	}
	u := decode(t, tok.Token)
	if u.Scheme != "https" || u.Host != "sts.us-west-2.amazonaws.com" || u.Path != "/" {
		t.Errorf("URL = %s", u)
	}
	// The order is the one aws-iam-authenticator and the AWS CLI produce.
	keys := []string{"Action=GetCallerIdentity", "Version=2011-06-15", "X-Amz-Algorithm=AWS4-HMAC-SHA256",
		"X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261126%2Fus-west-2%2Fsts%2Faws4_request",
		"X-Amz-Date=20261126T120000Z", "X-Amz-Expires=60", "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id", "X-Amz-Signature="}
	parts := strings.Split(u.RawQuery, "&")
	if len(parts) != len(keys) {
		t.Fatalf("query has %d parameters, want %d: %s", len(parts), len(keys), u.RawQuery)
	}
	for i, k := range keys {
		if !strings.HasPrefix(parts[i], k) {
			t.Errorf("parameter %d = %q, want prefix %q", i, parts[i], k)
		}
	}
	if !tok.Expiration.Equal(fixedNow.Add(14 * time.Minute)) {
		t.Errorf("expiration = %s, want signing time + 14m", tok.Expiration)
	}
	if len(tok.Token) > MaxLength {
		t.Errorf("token is %d bytes", len(tok.Token))
	}
}

func TestExpirationNeverOutlivesCredentials(t *testing.T) {
	for _, tc := range []struct {
		name    string
		creds   aws.Credentials
		wantExp time.Time
	}{
		{"static", staticCreds, fixedNow.Add(14 * time.Minute)},
		{"long session", aws.Credentials{CanExpire: true, Expires: fixedNow.Add(time.Hour)}, fixedNow.Add(14 * time.Minute)},
		{"short session", aws.Credentials{CanExpire: true, Expires: fixedNow.Add(5 * time.Minute)}, fixedNow.Add(4 * time.Minute)},
		{"session ends in 14m30s", aws.Credentials{CanExpire: true, Expires: fixedNow.Add(14*time.Minute + 30*time.Second)}, fixedNow.Add(13*time.Minute + 30*time.Second)},
	} {
		if got := Expiration(fixedNow, tc.creds); !got.Equal(tc.wantExp) {
			t.Errorf("%s: expiration %s, want %s", tc.name, got, tc.wantExp)
		}
	}
}

func TestSessionTokenIsCarried(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "ASIAXAMPLE", SecretAccessKey: "s", SessionToken: "tok/with+chars=", CanExpire: true, Expires: fixedNow.Add(time.Hour)}
	tok, err := Presign(context.Background(), creds, "c", mustEndpoint(t, "us-east-1", false, false), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, tok.Token).Query().Get("X-Amz-Security-Token"); got != creds.SessionToken {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
}

func TestPresignRejectsBadInput(t *testing.T) {
	ep := mustEndpoint(t, "us-east-1", false, false)
	if _, err := Presign(context.Background(), staticCreds, "", ep, fixedNow); err == nil {
		t.Error("empty cluster ID accepted")
	}
	if _, err := Presign(context.Background(), aws.Credentials{}, "c", ep, fixedNow); err == nil {
		t.Error("empty credentials accepted")
	}
}

// TestPresignRefusesExpiringCredentials: credentials with under
// MinCredentialLife left, or already expired, make no token.
func TestPresignRefusesExpiringCredentials(t *testing.T) {
	ep := mustEndpoint(t, "us-west-2", false, false)
	for left, ok := range map[time.Duration]bool{
		-time.Minute:      false,
		0:                 false,
		30 * time.Second:  false,
		2*time.Minute - 1: false,
		MinCredentialLife: true,
		time.Hour:         true,
	} {
		creds := staticCreds
		creds.CanExpire, creds.Expires = true, fixedNow.Add(left)
		tok, err := Presign(context.Background(), creds, "c", ep, fixedNow)
		var ee *ExpiringError
		switch {
		case ok && err != nil:
			t.Errorf("%s left: %v", left, err)
		case ok && !tok.Expiration.After(fixedNow):
			t.Errorf("%s left: token expires at %s", left, tok.Expiration)
		case !ok && !errors.As(err, &ee):
			t.Errorf("%s left: err = %v, want an ExpiringError", left, err)
		}
	}
	creds := staticCreds
	creds.CanExpire, creds.Expires = true, fixedNow.Add(-time.Minute)
	_, err := Presign(context.Background(), creds, "c", ep, fixedNow)
	if want := "the AWS credentials expired at 2026-11-26T11:59:00Z, 1m0s ago"; err == nil || err.Error() != want {
		t.Errorf("message %v, want %q", err, want)
	}
}
