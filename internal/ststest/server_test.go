package ststest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kubeiam/kubeiam/internal/ststest"
)

// client returns an SDK STS client signing as id against the rig's plain
// HTTP endpoint, as kubeiam does when AWS_ENDPOINT_URL_STS is set.
func client(r *ststest.Rig, id ststest.Identity, opts ...func(*sts.Options)) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String(r.Endpoint),
		Credentials:  aws.NewCredentialsCache(staticCreds(id)),
	}, opts...)
}

type staticCreds ststest.Identity

func (c staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: "test"}, nil
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestGetCallerIdentitySignedPOST(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	for _, name := range []string{"alice", "carol", "ops-session"} {
		id := r.Identity(name)
		out, err := client(r, id).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if aws.ToString(out.Arn) != id.ARN || aws.ToString(out.Account) != id.Account || aws.ToString(out.UserId) != id.UserID {
			t.Errorf("%s: got %s %s %s", name, aws.ToString(out.Arn), aws.ToString(out.Account), aws.ToString(out.UserId))
		}
	}
	if got := r.Count("GetCallerIdentity"); got != 3 {
		t.Errorf("Count = %d, want 3", got)
	}
}

func TestRejectsBadCredentials(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	alice := r.Identity("alice")
	ops := r.Identity("ops-session")

	wrongSecret := alice
	wrongSecret.SecretAccessKey = "not-the-secret"
	unknown := alice
	unknown.AccessKeyID = "AKIAUNKNOWN000000000"
	noToken := ops
	noToken.SessionToken = ""
	for name, tc := range map[string]struct {
		id   ststest.Identity
		code string
	}{
		"wrong secret":          {wrongSecret, "SignatureDoesNotMatch"},
		"unknown key":           {unknown, "InvalidClientTokenId"},
		"missing session token": {noToken, "InvalidClientTokenId"},
	} {
		_, err := client(r, tc.id).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if apiCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", name, err, tc.code)
		}
	}
}

func TestAssumeRoleIssuesUsableTemporaryCredentials(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	out, err := client(r, r.Identity("alice")).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::" + ststest.AccountA + ":role/teams/platform/Deployer"),
		RoleSessionName: aws.String("alice-session"),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SessionToken) == "" {
		t.Fatalf("not temporary credentials: %+v", c)
	}
	if d := time.Until(aws.ToTime(c.Expiration)); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expiration in %v, want the 1h default", d)
	}
	// The path is not part of the session ARN, as with real STS.
	wantARN := "arn:aws:sts::" + ststest.AccountA + ":assumed-role/Deployer/alice-session"
	if aws.ToString(out.AssumedRoleUser.Arn) != wantARN {
		t.Errorf("AssumedRoleUser.Arn = %s, want %s", aws.ToString(out.AssumedRoleUser.Arn), wantARN)
	}
	temp := ststest.Identity{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
	who, err := client(r, temp).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("temporary credentials rejected: %v", err)
	}
	if aws.ToString(who.Arn) != wantARN || !strings.HasSuffix(aws.ToString(who.UserId), ":alice-session") {
		t.Errorf("GetCallerIdentity as role = %s %s", aws.ToString(who.Arn), aws.ToString(who.UserId))
	}
	if r.Count("AssumeRole") != 1 {
		t.Errorf("AssumeRole count = %d", r.Count("AssumeRole"))
	}
}

func TestAssumeRoleDenials(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	ctx := context.Background()
	cases := map[string]struct {
		who string
		in  sts.AssumeRoleInput
	}{
		"unknown role":      {"alice", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + ststest.AccountA + ":role/Nope")}},
		"untrusted caller":  {"bob", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + ststest.AccountA + ":role/AliceOnly")}},
		"wrong external id": {"alice", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + ststest.AccountB + ":role/Partner"), ExternalId: aws.String("x")}},
		"missing mfa":       {"alice", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + ststest.AccountA + ":role/MFARequired")}},
	}
	for name, tc := range cases {
		tc.in.RoleSessionName = aws.String("s1")
		_, err := client(r, r.Identity(tc.who)).AssumeRole(ctx, &tc.in)
		if apiCode(err) != "AccessDenied" {
			t.Errorf("%s: got %v, want AccessDenied", name, err)
		}
	}
	// The same roles work for the right caller and parameters.
	for _, in := range []sts.AssumeRoleInput{
		{RoleArn: aws.String("arn:aws:iam::" + ststest.AccountA + ":role/AliceOnly")},
		{RoleArn: aws.String("arn:aws:iam::" + ststest.AccountB + ":role/Partner"), ExternalId: aws.String("partner-ext-id")},
		{RoleArn: aws.String("arn:aws:iam::" + ststest.AccountA + ":role/MFARequired"), SerialNumber: aws.String("arn:aws:iam::" + ststest.AccountA + ":mfa/alice"), TokenCode: aws.String("123456")},
	} {
		in.RoleSessionName = aws.String("s1")
		if _, err := client(r, r.Identity("alice")).AssumeRole(ctx, &in); err != nil {
			t.Errorf("%s: %v", *in.RoleArn, err)
		}
	}
}

func TestTemporaryCredentialsExpire(t *testing.T) {
	now := time.Now()
	var offset atomic.Int64 // the server's clock runs in handler goroutines
	r := ststest.Start(t, ststest.Options{Now: func() time.Time { return now.Add(time.Duration(offset.Load())) }})
	out, err := client(r, r.Identity("alice")).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + ststest.AccountA + ":role/KubeAdmin"), RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	temp := ststest.Identity{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	later := now.Add(16 * time.Minute)
	// Move the server's clock past the expiry and sign at that same time,
	// so only the expiry can be the reason for the rejection.
	offset.Store(int64(16 * time.Minute))
	status, body := get(t, r.Proxy.Client(), presign(t, temp, "sts.amazonaws.com", "us-east-1", "c", later), "c")
	if e, _ := body["Error"].(map[string]any); status != http.StatusForbidden || e["Code"] != "ExpiredToken" {
		t.Fatalf("got %d %v, want 403 ExpiredToken", status, body)
	}
	offset.Store(int64(14 * time.Minute))
	if status, body := get(t, r.Proxy.Client(), presign(t, temp, "sts.amazonaws.com", "us-east-1", "c", now.Add(14*time.Minute)), "c"); status != http.StatusOK {
		t.Fatalf("before expiry: got %d %v", status, body)
	}
}

func TestFailNextThrottlesAndRecovers(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	alice := r.Identity("alice")

	// The SDK retries Throttling; one injected failure costs one extra attempt.
	r.FailNext(1, http.StatusBadRequest)
	if _, err := client(r, alice).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("retry did not recover: %v", err)
	}
	if got := r.Count("GetCallerIdentity"); got != 2 {
		t.Errorf("Count = %d, want 2 (one throttled, one retried)", got)
	}

	r.FailNext(10, http.StatusServiceUnavailable)
	noRetry := func(o *sts.Options) { o.Retryer = aws.NopRetryer{} }
	_, err := client(r, alice, noRetry).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("got %v, want a 503", err)
	}
	r.FailNext(0, 0)
	if _, err := client(r, alice, noRetry).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("FailNext(0) did not cancel: %v", err)
	}
	r.FailNext(1, http.StatusBadRequest)
	_, err = client(r, alice, noRetry).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if apiCode(err) != "Throttling" || !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		t.Fatalf("got %v, want a Throttling error the SDK classifies as throttling", err)
	}
}

// presign makes a token URL the way the EKS token format does: a presigned
// GET GetCallerIdentity for host with x-k8s-aws-id among the signed headers.
func presign(t *testing.T, id ststest.Identity, host, region, clusterID string, at time.Time) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+host+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-k8s-aws-id", clusterID)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: id.AccessKeyID, SecretAccessKey: id.SecretAccessKey, SessionToken: id.SessionToken},
		req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sts", region, at)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// get does what the authenticator server does with a token: GET it with
// its own cluster ID header, asking for JSON.
func get(t *testing.T, c *http.Client, u, clusterID string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("x-k8s-aws-id", clusterID)
	req.Header.Set("accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return resp.StatusCode, m
}

func TestPresignedTokenThroughProxy(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	c := r.Proxy.Client()
	now := time.Now()
	for _, tc := range []struct{ host, region, who string }{
		{"sts.amazonaws.com", "us-east-1", "alice"},
		{"sts.us-west-2.amazonaws.com", "us-west-2", "carol"},
		{"sts.cn-north-1.amazonaws.com.cn", "cn-north-1", "ops-session"},
	} {
		id := r.Identity(tc.who)
		status, body := get(t, c, presign(t, id, tc.host, tc.region, "cluster-1", now), "cluster-1")
		if status != http.StatusOK {
			t.Fatalf("%s: status %d %v", tc.host, status, body)
		}
		res := body["GetCallerIdentityResponse"].(map[string]any)["GetCallerIdentityResult"].(map[string]any)
		if res["Arn"] != id.ARN || res["UserId"] != id.UserID || res["Account"] != id.Account {
			t.Errorf("%s: result %v", tc.host, res)
		}
		if r.Proxy.Tunnels(tc.host) == 0 {
			t.Errorf("%s: no tunnel opened", tc.host)
		}
	}

	alice := r.Identity("alice")
	for name, tc := range map[string]struct {
		url, clusterID, code string
	}{
		// The cluster ID is enforced only through the signature.
		"other cluster ID":      {presign(t, alice, "sts.amazonaws.com", "us-east-1", "cluster-1", now), "cluster-2", "SignatureDoesNotMatch"},
		"region/host mismatch":  {presign(t, alice, "sts.amazonaws.com", "us-west-2", "cluster-1", now), "cluster-1", "SignatureDoesNotMatch"},
		"older than 15 minutes": {presign(t, alice, "sts.amazonaws.com", "us-east-1", "cluster-1", now.Add(-16*time.Minute)), "cluster-1", "SignatureDoesNotMatch"},
	} {
		status, body := get(t, c, tc.url, tc.clusterID)
		e, _ := body["Error"].(map[string]any)
		if status != http.StatusForbidden || e["Code"] != tc.code {
			t.Errorf("%s: got %d %v, want 403 %s", name, status, body, tc.code)
		}
	}
}

func TestSDKPresignedGetCallerIdentity(t *testing.T) {
	// aws-sdk-go-v2's own presigner, which a token generator may use.
	r := ststest.Start(t, ststest.Options{})
	alice := r.Identity("alice")
	pc := sts.NewPresignClient(sts.New(sts.Options{Region: "us-west-2", Credentials: staticCreds(alice)}))
	req, err := pc.PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(so *sts.Options) {
			so.APIOptions = append(so.APIOptions, smithyhttp.AddHeaderValue("x-k8s-aws-id", "c1"), smithyhttp.SetHeaderValue("X-Amz-Expires", "60"))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(req.URL, "https://sts.us-west-2.amazonaws.com/?") {
		t.Fatalf("unexpected URL %s", req.URL)
	}
	status, body := get(t, r.Proxy.Client(), req.URL, "c1")
	if status != http.StatusOK {
		t.Fatalf("status %d %v", status, body)
	}
}

func TestXMLAnswers(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	u := presign(t, r.Identity("bob"), "sts.amazonaws.com", "us-east-1", "c", time.Now())
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("x-k8s-aws-id", "c")
	resp, err := r.Proxy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`, "<GetCallerIdentityResult><Arn>arn:aws:iam::" + ststest.AccountA + ":user/bob</Arn>", "<RequestId>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("XML answer lacks %q:\n%s", want, b)
		}
	}
}

func TestProxyRefusesOtherHosts(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	_, err := r.Proxy.Client().Get("https://example.com/")
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("got %v, want the CONNECT refused", err)
	}
}

func TestRegionForHost(t *testing.T) {
	for host, want := range map[string]string{
		"sts.amazonaws.com":                "us-east-1",
		"sts.us-west-2.amazonaws.com":      "us-west-2",
		"sts.cn-north-1.amazonaws.com.cn":  "cn-north-1",
		"sts-fips.us-east-2.amazonaws.com": "us-east-2",
		"sts.us-iso-east-1.c2s.ic.gov":     "us-iso-east-1",
		"sts.amazonaws.com:443":            "us-east-1",
		"127.0.0.1:8080":                   "",
		"s3.us-west-2.amazonaws.com":       "",
		"sts.a.b.amazonaws.com":            "",
	} {
		if got := ststest.RegionForHost(host); got != want {
			t.Errorf("RegionForHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestLatencyMakesConcurrentCallsOverlap(t *testing.T) {
	r := ststest.Start(t, ststest.Options{})
	r.SetLatency(300 * time.Millisecond)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := client(r, r.Identity("alice")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Four calls of 300 ms each finishing well under 1.2 s ran side by side.
	if d := time.Since(start); d < 300*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("4 concurrent calls took %v, want ~300ms", d)
	}
	if r.Count("GetCallerIdentity") != 4 {
		t.Errorf("Count = %d, want 4", r.Count("GetCallerIdentity"))
	}
}
