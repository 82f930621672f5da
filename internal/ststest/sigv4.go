package ststest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	amzDateFormat = "20060102T150405Z"
	// signatureWindow is how far X-Amz-Date may be from now. STS accepts a
	// presigned GetCallerIdentity for 15 minutes whatever X-Amz-Expires says,
	// which is what makes the EKS token format work (FACTS §1).
	signatureWindow = 15 * time.Minute
	emptyPayloadSHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// authenticate checks the request's SigV4 signature, presigned (query) or
// in the Authorization header, and returns the identity that signed it.
func (s *Server) authenticate(r *http.Request, body []byte) (Identity, *stsError) {
	q, _ := url.ParseQuery(r.URL.RawQuery)
	if q.Get("X-Amz-Signature") != "" {
		return s.verifyPresigned(r, q)
	}
	if r.Header.Get("Authorization") != "" {
		id, _, serr := s.verifyHeader(r, body, "sts")
		return id, serr
	}
	return Identity{}, errSender(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
}

// scope is a parsed credential scope AKID/DATE/REGION/SERVICE/aws4_request.
type scope struct {
	akid, date, region, service string
}

// parseScope parses a credential scope and insists on the service the
// stand-in plays ("sts", "eks"), as AWS does.
func parseScope(cred, service string) (scope, *stsError) {
	p := strings.Split(cred, "/")
	if len(p) != 5 || p[4] != "aws4_request" || p[0] == "" {
		return scope{}, errSender(http.StatusBadRequest, "IncompleteSignature", "Credential %q is not of the form AKID/DATE/REGION/SERVICE/aws4_request", cred)
	}
	if p[3] != service {
		return scope{}, errSender(http.StatusForbidden, "SignatureDoesNotMatch", "Credential should be scoped to correct service: '%s'.", service)
	}
	return scope{akid: p[0], date: p[1], region: p[2], service: p[3]}, nil
}

// checkScope applies the checks STS makes before the signature itself:
// a signing time within the window, a scope date that matches it, and a
// region that matches the endpoint host.
func (s *Server) checkScope(sc scope, amzDate, host string) (time.Time, *stsError) {
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return time.Time{}, errSender(http.StatusBadRequest, "IncompleteSignature", "could not parse X-Amz-Date %q", amzDate)
	}
	if sc.date != t.Format("20060102") {
		return time.Time{}, errSender(http.StatusForbidden, "SignatureDoesNotMatch", "Credential should be scoped to a valid date, not %s", sc.date)
	}
	now := s.now()
	if now.After(t.Add(signatureWindow)) {
		return time.Time{}, errSender(http.StatusForbidden, "SignatureDoesNotMatch", "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-signatureWindow).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))
	}
	if t.After(now.Add(signatureWindow)) {
		return time.Time{}, errSender(http.StatusForbidden, "SignatureDoesNotMatch", "Signature not yet current: %s is still later than %s", amzDate, now.Add(signatureWindow).UTC().Format(amzDateFormat))
	}
	if want := RegionForHost(host); want != "" && want != sc.region {
		return time.Time{}, errSender(http.StatusForbidden, "SignatureDoesNotMatch", "Credential should be scoped to a valid region, not '%s'.", sc.region)
	}
	return t, nil
}

// RegionForHost returns the signing region an STS host name implies:
// us-east-1 for the global sts.amazonaws.com, R for sts.R.amazonaws.com and
// the other partitions' regional hosts, "" for hosts that are not STS hosts
// (an httptest server), where any region is accepted.
func RegionForHost(host string) string {
	host = strings.ToLower(stripPort(host))
	if host == "sts.amazonaws.com" {
		return "us-east-1"
	}
	for _, suffix := range []string{".amazonaws.com.cn", ".amazonaws.com", ".c2s.ic.gov", ".sc2s.sgov.gov"} {
		if !strings.HasSuffix(host, suffix) {
			continue
		}
		rest := strings.TrimSuffix(host, suffix)
		for _, prefix := range []string{"sts.", "sts-fips."} {
			if r, ok := strings.CutPrefix(rest, prefix); ok && r != "" && !strings.Contains(r, ".") {
				return r
			}
		}
	}
	return ""
}

// IsSTSHost reports whether host (without port) is an STS endpoint name.
func IsSTSHost(host string) bool { return RegionForHost(host) != "" }

func stripPort(host string) string {
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[:i]
	}
	return host
}

// signedCopy builds the request the client signed: same method, host, path
// and query (minus the signature parameters the signer adds back), and only
// the headers named in signedHeaders, with the values that arrived.
func signedCopy(r *http.Request, q url.Values, signedHeaders string, dropHeaders ...string) (*http.Request, *stsError) {
	u := url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	if u.Path == "" {
		u.Path = "/"
	}
	req, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return nil, errSender(http.StatusBadRequest, "InvalidRequest", "could not rebuild request: %v", err)
	}
	req.Host = r.Host
	for _, h := range strings.Split(signedHeaders, ";") {
		switch {
		case h == "host" || h == "":
		case h == "content-length":
			// The SDK signs content-length only when the body is not empty,
			// and derives it from ContentLength, not from the header map.
			req.ContentLength = r.ContentLength
		case contains(dropHeaders, h):
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	return req, nil
}

func (s *Server) verifyPresigned(r *http.Request, q url.Values) (Identity, *stsError) {
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return Identity{}, errSender(http.StatusBadRequest, "IncompleteSignature", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
	}
	sc, serr := parseScope(q.Get("X-Amz-Credential"), "sts")
	if serr != nil {
		return Identity{}, serr
	}
	t, serr := s.checkScope(sc, q.Get("X-Amz-Date"), r.Host)
	if serr != nil {
		return Identity{}, serr
	}
	id, serr := s.lookup(sc.akid, q.Get("X-Amz-Security-Token"), s.now())
	if serr != nil {
		return Identity{}, serr
	}
	got := q.Get("X-Amz-Signature")
	signedHeaders := q.Get("X-Amz-SignedHeaders")
	rest := url.Values{}
	for k, v := range q {
		switch k {
		case "X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Security-Token":
		default:
			rest[k] = v
		}
	}
	// A GET has no body; SDKs hash the empty payload, some presigners use
	// UNSIGNED-PAYLOAD. Either way the key must be right.
	for _, payload := range []string{emptyPayloadSHA, "UNSIGNED-PAYLOAD"} {
		req, serr := signedCopy(r, rest, signedHeaders)
		if serr != nil {
			return Identity{}, serr
		}
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), credentials(id), req, payload, sc.service, sc.region, t)
		if err != nil {
			return Identity{}, errSender(http.StatusInternalServerError, "InternalFailure", "could not sign: %v", err)
		}
		su, err := url.Parse(signed)
		if err != nil {
			return Identity{}, errSender(http.StatusInternalServerError, "InternalFailure", "could not parse signed url: %v", err)
		}
		if su.Query().Get("X-Amz-SignedHeaders") == signedHeaders && equal(su.Query().Get("X-Amz-Signature"), got) {
			return id, nil
		}
	}
	return Identity{}, errSignature()
}

// verifyHeader checks a request signed in its Authorization header for
// service and returns the identity that signed it and the credential scope
// (whose region says which region the caller addressed).
func (s *Server) verifyHeader(r *http.Request, body []byte, service string) (Identity, scope, *stsError) {
	auth := r.Header.Get("Authorization")
	algo, fields, _ := strings.Cut(auth, " ")
	if algo != "AWS4-HMAC-SHA256" {
		return Identity{}, scope{}, errSender(http.StatusBadRequest, "IncompleteSignature", "Authorization header must use AWS4-HMAC-SHA256")
	}
	var cred, signedHeaders, got string
	for _, f := range strings.Split(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			got = v
		}
	}
	if cred == "" || signedHeaders == "" || got == "" {
		return Identity{}, scope{}, errSender(http.StatusBadRequest, "IncompleteSignature", "Authorization header requires Credential, SignedHeaders and Signature")
	}
	sc, serr := parseScope(cred, service)
	if serr != nil {
		return Identity{}, scope{}, serr
	}
	t, serr := s.checkScope(sc, r.Header.Get("X-Amz-Date"), r.Host)
	if serr != nil {
		return Identity{}, scope{}, serr
	}
	id, serr := s.lookup(sc.akid, r.Header.Get("X-Amz-Security-Token"), s.now())
	if serr != nil {
		return Identity{}, scope{}, serr
	}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	// x-amz-date and x-amz-security-token are set again by the signer from
	// the signing time and the credentials.
	req, serr := signedCopy(r, q, signedHeaders, "x-amz-date", "x-amz-security-token")
	if serr != nil {
		return Identity{}, scope{}, serr
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), credentials(id), req, hex.EncodeToString(sum[:]), sc.service, sc.region, t); err != nil {
		return Identity{}, scope{}, errSender(http.StatusInternalServerError, "InternalFailure", "could not sign: %v", err)
	}
	want := req.Header.Get("Authorization")
	if !strings.Contains(want, "SignedHeaders="+signedHeaders+",") || !equal(want[strings.LastIndex(want, "Signature=")+len("Signature="):], got) {
		return Identity{}, scope{}, errSignature()
	}
	return id, sc, nil
}

func errSignature() *stsError {
	return errSender(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

func credentials(id Identity) aws.Credentials {
	return aws.Credentials{AccessKeyID: id.AccessKeyID, SecretAccessKey: id.SecretAccessKey, SessionToken: id.SessionToken}
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
