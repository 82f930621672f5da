package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/text"
)

// Claims is what a token says, read without any secret.
type Claims struct {
	Host         string    `json:"host"`
	Partition    string    `json:"partition"`
	Region       string    `json:"region"`
	AccessKeyID  string    `json:"accessKeyID"`
	SignedAt     time.Time `json:"signedAt"`
	Expires      time.Time `json:"expires"`
	SessionToken bool      `json:"sessionToken"`
	// url is the presigned URL; it is a bearer credential, so it is not
	// exported or printed.
	url string
}

// CheckError is a failed server-side check; Check names it.
type CheckError struct {
	Check  string
	Reason string
}

func (e *CheckError) Error() string { return fmt.Sprintf("check %q failed: %s", e.Check, e.Reason) }

func fail(check, format string, args ...any) error {
	return &CheckError{Check: check, Reason: fmt.Sprintf(format, args...)}
}

// allowedParams are the only query parameters the server accepts, each once.
var allowedParams = [...]string{
	"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
	"x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders",
}

const amzDateFormat = "20060102T150405Z"

// Verify applies the checks an aws-iam-authenticator server makes before it
// calls STS, in the server's order, against partition (empty means "aws")
// at time now, taking any host of the partition's form (see
// Partition.HostRegion); Server.Verify applies one server version's host
// table instead. Neither can check the signature or the cluster ID: only
// STS holds the secret, see Claims.CallerIdentity.
func Verify(tok, partition string, now time.Time) (*Claims, error) {
	if partition == "" {
		partition = "aws"
	}
	p := specByID(partition)
	if p == nil {
		_, err := PartitionByID(partition)
		return nil, fail("partition", "%v", err)
	}
	return verify(tok, p.id, now, func(host string) (string, error) {
		region, ok := hostRegion(host, p.globalHost, p.dnsSuffix, p.matchRegion)
		if !ok {
			return "", fmt.Errorf("%q is not an STS host of partition %s", host, p.id)
		}
		return region, nil
	})
}

// Verify is Verify with the server's own host table: what this server
// version, running for partition in serverRegion ("" off EC2), accepts.
func (s *Server) Verify(tok, partition, serverRegion string, now time.Time) (*Claims, error) {
	if partition == "" {
		partition = "aws"
	}
	if _, err := PartitionByID(partition); err != nil {
		return nil, fail("partition", "%v", err)
	}
	return verify(tok, partition, now, func(host string) (string, error) {
		return s.HostRegion(partition, serverRegion, host)
	})
}

func verify(tok, partition string, now time.Time, hostRegion func(host string) (string, error)) (*Claims, error) {
	if len(tok) > MaxLength {
		return nil, fail("length", "the token is %d bytes; the server accepts at most %d", len(tok), MaxLength)
	}
	if !strings.HasPrefix(tok, Prefix) {
		return nil, fail("prefix", "the token does not start with %q", Prefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, Prefix))
	if err != nil {
		return nil, fail("base64url", "the token is not unpadded base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		return nil, fail("url", "the token does not hold a URL: %v", err)
	}
	if u.Scheme != "https" {
		return nil, fail("scheme", "the URL scheme is %q, want https", u.Scheme)
	}
	// The server compares the host with the port, so any port fails.
	region, err := hostRegion(u.Host)
	if err != nil {
		return nil, fail("host", "%v", err)
	}
	if u.Path != "/" {
		return nil, fail("path", "the URL path is %q, want /", u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fail("query", "malformed query: %v", err)
	}
	lower := map[string]string{}
	for k, vs := range q {
		lk := strings.ToLower(k)
		if _, dup := lower[lk]; dup {
			return nil, fail("duplicate-parameters", "the query parameter %q appears twice", k)
		}
		if !isAllowedParam(lk) {
			return nil, fail("parameters", "the query parameter %q is not allowed", k)
		}
		if len(vs) != 1 {
			return nil, fail("parameters", "the query parameter %q has %d values", k, len(vs))
		}
		lower[lk] = vs[0]
	}
	if lower["action"] != "GetCallerIdentity" {
		return nil, fail("action", "the action is %q, want GetCallerIdentity", lower["action"])
	}
	signed := false
	for _, h := range strings.Split(lower["x-amz-signedheaders"], ";") {
		if strings.EqualFold(h, ClusterIDHeader) {
			signed = true
		}
	}
	if !signed {
		return nil, fail("signed-cluster-id", "the %s header is not among the signed headers %q", ClusterIDHeader, lower["x-amz-signedheaders"])
	}
	expires, err := strconv.Atoi(lower["x-amz-expires"])
	if err != nil || expires < 0 || expires > 900 {
		return nil, fail("expires", "X-Amz-Expires is %q, want 0 to 900", lower["x-amz-expires"])
	}
	if lower["x-amz-date"] == "" {
		return nil, fail("date", "X-Amz-Date is missing")
	}
	signedAt, err := time.Parse(amzDateFormat, lower["x-amz-date"])
	if err != nil {
		return nil, fail("date", "X-Amz-Date %q is not in %s form", lower["x-amz-date"], amzDateFormat)
	}
	c := &Claims{
		Host:         u.Host,
		Partition:    partition,
		Region:       region,
		AccessKeyID:  strings.Split(lower["x-amz-credential"], "/")[0],
		SignedAt:     signedAt,
		Expires:      signedAt.Add(serverValidity),
		SessionToken: lower["x-amz-security-token"] != "",
		url:          u.String(),
	}
	if now.After(c.Expires) {
		return c, fail("expiry", "the token was signed at %s and expired at %s (the server accepts 15 minutes)", signedAt.Format(time.RFC3339), c.Expires.Format(time.RFC3339))
	}
	return c, nil
}

func isAllowedParam(k string) bool {
	for _, a := range allowedParams {
		if a == k {
			return true
		}
	}
	return false
}

// Identity is the caller STS reports for a token.
type Identity struct {
	ARN          string `json:"arn"`
	CanonicalARN string `json:"canonicalARN"`
	Account      string `json:"account"`
	UserID       string `json:"userID"`
}

// CallerIdentity does what the server does next: GET the presigned URL with
// the cluster ID header (no redirects, 10 s), which makes STS recompute the
// signature, and returns the caller. A token for another cluster ID fails
// here with SignatureDoesNotMatch.
func (c *Claims) CallerIdentity(ctx context.Context, client *http.Client, clusterID string) (*Identity, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	cl := *client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("could not build the STS request: %w", err)
	}
	req.Header.Set(ClusterIDHeader, clusterID)
	req.Header.Set("Accept", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		// The error text would include the URL, which is a credential.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("could not reach STS at %s: %v", c.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("could not read the STS answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fail("sts", "STS answered %d: %s", resp.StatusCode, text.OneLine(string(body)))
	}
	var out struct {
		GetCallerIdentityResponse struct {
			GetCallerIdentityResult struct {
				Account string
				Arn     string
				UserID  string `json:"UserId"`
			}
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("could not decode the STS answer: %w", err)
	}
	r := out.GetCallerIdentityResponse.GetCallerIdentityResult
	canon, err := CanonicalARN(r.Arn)
	if err != nil {
		return nil, err
	}
	return &Identity{ARN: r.Arn, CanonicalARN: canon, Account: r.Account, UserID: r.UserID}, nil
}
