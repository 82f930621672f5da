package execcred

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/token"
)

var (
	tNow      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	testCreds = aws.Credentials{AccessKeyID: "ASIAENTRYTEST0000001", SecretAccessKey: "secret", SessionToken: "session",
		CanExpire: true, Expires: tNow.Add(time.Hour)}
)

// signed makes a real token for cluster c1 at signedAt, for host (signing
// for region), and the entry kubeiam-core would store for it.
func signed(t testing.TB, host, region string, signedAt time.Time) *cache.Entry {
	t.Helper()
	tok, err := token.Presign(context.Background(), testCreds, "c1", token.Endpoint{Host: host, SigningRegion: region}, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	return &cache.Entry{Key: cache.Key{ClusterID: "c1"}, Token: tok.Token, TokenExpiry: tok.Expiration,
		Credentials: &cache.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: "secret", CanExpire: true, Expires: testCreds.Expires}}
}

// rewrite edits the URL inside a token, as a damaged or hand-made entry would.
func rewrite(t testing.TB, tok string, edit func(string) string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, token.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	out := edit(string(raw))
	if out == string(raw) {
		t.Fatalf("the edit changed nothing in %s", raw)
	}
	return token.Prefix + base64.RawURLEncoding.EncodeToString([]byte(out))
}

func expectRegional(region string) Expect {
	return Expect{Key: cache.Key{ClusterID: "c1", Region: region, Endpoint: "regional"}}
}

// TestUsableRefusesJunk: an entry answers only with a token kubeiam would
// sign for the request now; everything else is a miss, re-signed.
func TestUsableRefusesJunk(t *testing.T) {
	const euHost = "sts.eu-west-1.amazonaws.com"
	fresh := func() *cache.Entry { return signed(t, euHost, "eu-west-1", tNow.Add(-time.Minute)) }
	eu := expectRegional("eu-west-1")
	if !eu.Usable(fresh(), tNow, time.Minute) {
		t.Fatal("a fresh token for the request is refused")
	}
	for _, tc := range []struct {
		name string
		want Expect
		e    func() *cache.Entry
	}{
		{"another region's host", eu, func() *cache.Entry { return signed(t, "sts.us-east-1.amazonaws.com", "us-east-1", tNow) }},
		{"the global host", eu, func() *cache.Entry { return signed(t, "sts.amazonaws.com", "us-east-1", tNow) }},
		{"the FIPS host, FIPS not configured", eu, func() *cache.Entry { return signed(t, "sts-fips.eu-west-1.amazonaws.com", "eu-west-1", tNow) }},
		{"a host that is no STS host", eu, func() *cache.Entry { return signed(t, "sts.eu-west-1.example.com", "eu-west-1", tNow) }},
		{"a port on the host", eu, func() *cache.Entry { return signed(t, euHost+":443", "eu-west-1", tNow) }},
		{"scope of another region", eu, func() *cache.Entry { return signed(t, euHost, "us-east-1", tNow) }},
		{"a regional host for --sts-global", Expect{Key: cache.Key{ClusterID: "c1", Endpoint: "global"}}, fresh},
		{"regular host for --fips", Expect{Key: cache.Key{ClusterID: "c1", Region: "eu-west-1", Endpoint: "fips"}}, fresh},
		{"the key of another cluster", eu, func() *cache.Entry { e := fresh(); e.Key.ClusterID = "c2"; return e }},
		{"cluster ID header not signed", eu, func() *cache.Entry {
			e := fresh()
			e.Token = rewrite(t, e.Token, func(u string) string {
				return strings.Replace(u, "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id", "X-Amz-SignedHeaders=host", 1)
			})
			return e
		}},
		{"another action", eu, func() *cache.Entry {
			e := fresh()
			e.Token = rewrite(t, e.Token, func(u string) string { return strings.Replace(u, "GetCallerIdentity", "AssumeRole", 1) })
			return e
		}},
		{"X-Amz-Expires past the server's limit", eu, func() *cache.Entry {
			e := fresh()
			e.Token = rewrite(t, e.Token, func(u string) string { return strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=3600", 1) })
			return e
		}},
		{"junk base64", eu, func() *cache.Entry { e := fresh(); e.Token = token.Prefix + "!!not*base64!!"; return e }},
		{"no prefix", eu, func() *cache.Entry { e := fresh(); e.Token = strings.TrimPrefix(e.Token, token.Prefix); return e }},
		{"not a URL", eu, func() *cache.Entry {
			e := fresh()
			e.Token = token.Prefix + base64.RawURLEncoding.EncodeToString([]byte("%zz://\x00"))
			return e
		}},
		{"too long", eu, func() *cache.Entry { e := fresh(); e.Token += strings.Repeat("A", token.MaxLength); return e }},
		{"expired", eu, func() *cache.Entry {
			e := signed(t, euHost, "eu-west-1", tNow.Add(-20*time.Minute))
			e.TokenExpiry = tNow.Add(5 * time.Minute)
			return e
		}},
		{"the server's window ends within the margin", eu, func() *cache.Entry {
			e := signed(t, euHost, "eu-west-1", tNow.Add(-14*time.Minute-30*time.Second))
			e.TokenExpiry = tNow.Add(2 * time.Minute) // a lie: the server stops at +30s
			return e
		}},
		{"reported expiry past the server's window", eu, func() *cache.Entry {
			e := signed(t, euHost, "eu-west-1", tNow.Add(-5*time.Minute))
			e.TokenExpiry = tNow.Add(14 * time.Minute)
			return e
		}},
		{"signed in the future", eu, func() *cache.Entry {
			e := signed(t, euHost, "eu-west-1", tNow.Add(5*time.Minute))
			e.TokenExpiry = tNow.Add(14 * time.Minute)
			return e
		}},
		{"kept with other credentials", eu, func() *cache.Entry { e := fresh(); e.Credentials.AccessKeyID = "ASIAOTHER"; return e }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want.Usable(tc.e(), tNow, time.Minute) {
				t.Error("served")
			}
		})
	}
}

// TestUsableHostFollowsTheRequest: the host must be the one the request
// signs for; where the AWS config decides (no region asked for, FIPS in the
// config file) it must still be one kubeiam signs for.
func TestUsableHostFollowsTheRequest(t *testing.T) {
	for _, tc := range []struct {
		name         string
		want         Expect
		host, region string
	}{
		{"regional", expectRegional("ap-south-1"), "sts.ap-south-1.amazonaws.com", "ap-south-1"},
		{"china", expectRegional("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn", "cn-north-1"},
		{"global", Expect{Key: cache.Key{ClusterID: "c1", Endpoint: "global"}}, "sts.amazonaws.com", "us-east-1"},
		{"fips", Expect{Key: cache.Key{ClusterID: "c1", Region: "us-east-2", Endpoint: "fips"}}, "sts-fips.us-east-2.amazonaws.com", "us-east-2"},
		{"govcloud fips", Expect{Key: cache.Key{ClusterID: "c1", Region: "us-gov-west-1", Endpoint: "fips"}}, "sts.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
		{"region from the config", expectRegional(""), "sts.eu-central-1.amazonaws.com", "eu-central-1"},
		{"FIPS from the config", Expect{Key: cache.Key{ClusterID: "c1", Region: "us-west-2", Endpoint: "regional"}, ConfigFIPS: true}, "sts-fips.us-west-2.amazonaws.com", "us-west-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.want.Usable(signed(t, tc.host, tc.region, tNow), tNow, time.Minute) {
				t.Error("refused")
			}
		})
	}
	// With the region left to the config, a host kubeiam never signs for
	// is still refused.
	for _, host := range []string{"sts.amazonaws.com", "sts-fips.eu-west-1.amazonaws.com", "sts.eu-west-1.amazonaws.com.cn", "sts.mars-1.amazonaws.com"} {
		if expectRegional("").Usable(signed(t, host, "us-east-1", tNow), tNow, time.Minute) {
			t.Errorf("region from the config: %s served", host)
		}
	}
}

// FuzzUsable feeds arbitrary presigned URLs (encoded as tokens, so the
// fuzzer mutates the structure the check reads) and expiry times to the
// check: it must never panic, and whatever it accepts must pass the
// server's own checks a minute later, at the host and region the request
// signs for, within the server's window.
func FuzzUsable(f *testing.F) {
	decode := func(tok string) string {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, token.Prefix))
		return string(raw)
	}
	f.Add(decode(signed(f, "sts.eu-west-1.amazonaws.com", "eu-west-1", tNow.Add(-time.Minute)).Token), int64(13*time.Minute))
	f.Add(decode(signed(f, "sts.amazonaws.com", "us-east-1", tNow).Token), int64(14*time.Minute))
	f.Add(decode(signed(f, "sts-fips.eu-west-1.amazonaws.com", "eu-west-1", tNow).Token), int64(14*time.Minute))
	f.Add("https://sts.eu-west-1.amazonaws.com/", int64(time.Minute))
	f.Add("", int64(-time.Hour))
	want := expectRegional("eu-west-1")
	f.Fuzz(func(t *testing.T, rawURL string, left int64) {
		tok := token.Prefix + base64.RawURLEncoding.EncodeToString([]byte(rawURL))
		e := &cache.Entry{Key: cache.Key{ClusterID: "c1"}, Token: tok, TokenExpiry: tNow.Add(time.Duration(left))}
		if !want.Usable(e, tNow, time.Minute) {
			return
		}
		claims, err := token.Verify(tok, "aws", tNow.Add(time.Minute))
		if err != nil {
			t.Fatalf("accepted a token the server refuses within the margin: %v", err)
		}
		if claims.Host != "sts.eu-west-1.amazonaws.com" || claims.Region != "eu-west-1" {
			t.Fatalf("accepted a token for %s (%s)", claims.Host, claims.Region)
		}
		if e.TokenExpiry.After(claims.Expires) || claims.SignedAt.After(tNow.Add(clockSkew)) {
			t.Fatalf("accepted expiry %s for a token signed at %s", e.TokenExpiry, claims.SignedAt)
		}
	})
}

// BenchmarkUsable is the check's share of a cached call.
func BenchmarkUsable(b *testing.B) {
	e := signed(b, "sts.eu-west-1.amazonaws.com", "eu-west-1", tNow)
	want := expectRegional("eu-west-1")
	for b.Loop() {
		if !want.Usable(e, tNow, time.Minute) {
			b.Fatal("refused")
		}
	}
}
