package execcred

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/cache"
	"github.com/kubeiam/kubeiam/token"
	"github.com/kubeiam/kubeiam/token/execargs"
)

// Expect is what a cached token must say to answer a request, as far as it
// can be known without the AWS SDK: the cache key, and whether the shared
// config may switch on FIPS endpoints.
type Expect struct {
	Key cache.Key
	// ConfigFIPS: the AWS config file mentions use_fips_endpoint, so the
	// FIPS host is as likely as the regular one (only kubeiam-core reads
	// the file properly).
	ConfigFIPS bool
}

// ExpectFor is the request's cache key with what its token must say.
func ExpectFor(r *execargs.Request, getenv func(string) string) Expect {
	return Expect{Key: r.Key(getenv), ConfigFIPS: SharedConfigMentionsFIPS(getenv)}
}

// clockSkew is how far in the future a token's signing time may be: clocks
// of one machine's processes agree, so this only absorbs small steps.
const clockSkew = time.Minute

// Usable tells whether a cached entry may answer the request at now with at
// least minRemaining to spare. Besides the entry's own times
// (Entry.TokenValid), its token must be what kubeiam signs for the request:
// a presigned STS GetCallerIdentity URL that passes the server's checks
// (token.Verify), for exactly the host the request signs for, with the
// cluster ID header signed, a credential scope of that host's region,
// signed no later than now (give or take clockSkew), accepted by the server
// for at least minRemaining more, and reported to expire no later than the
// server stops accepting it. Entries are written by kubeiam alone, but they
// are files: a bug, an older version or a hand edit must cost a re-sign, not
// a credential the server refuses.
//
// The cluster ID itself is not in the token (STS checks it through the
// signature); the entry's key, which Get matched, names it.
func (x Expect) Usable(e *cache.Entry, now time.Time, minRemaining time.Duration) bool {
	if !e.TokenValid(now, minRemaining) || e.Key.ClusterID != x.Key.ClusterID {
		return false
	}
	host, scope, ok := hostAndScope(e.Token)
	if !ok {
		return false
	}
	ep, ok := x.endpoint(host)
	if !ok {
		return false
	}
	claims, err := token.Verify(e.Token, ep.Partition, now)
	if err != nil {
		return false
	}
	wantScope := claims.AccessKeyID + "/" + claims.SignedAt.Format("20060102") + "/" + ep.SigningRegion + "/sts/aws4_request"
	// TokenValid saw at least minRemaining before TokenExpiry, so a
	// TokenExpiry within the server's window leaves the server's margin too.
	switch {
	case scope != wantScope,
		claims.SignedAt.After(now.Add(clockSkew)),
		e.TokenExpiry.After(claims.Expires):
		return false
	}
	// The credentials kept with a token are the ones that signed it.
	if c := e.Credentials; c != nil && c.AccessKeyID != claims.AccessKeyID {
		return false
	}
	return true
}

// endpoint is the endpoint the request signs for when it is the one host
// names. With no region in the request, kubeiam-core takes the AWS
// config's, which only it reads: then the host's own region is taken, and
// the host must still be the one kubeiam signs for in that region.
func (x Expect) endpoint(host string) (token.Endpoint, bool) {
	k := x.Key
	global := k.Endpoint == "global"
	region := k.Region
	if region == "" && !global {
		labels := strings.Split(host, ".")
		if len(labels) < 3 {
			return token.Endpoint{}, false
		}
		region = labels[1]
	}
	fips := []bool{k.Endpoint == "fips"}
	if k.Endpoint == "regional" && x.ConfigFIPS {
		fips = []bool{false, true}
	}
	for _, f := range fips {
		if ep, err := token.EndpointFor(region, global, f); err == nil && ep.Host == host {
			return ep, true
		}
	}
	return token.Endpoint{}, false
}

// hostAndScope reads the host and X-Amz-Credential of a token's URL;
// token.Verify checks the rest.
func hostAndScope(tok string) (host, scope string, ok bool) {
	if len(tok) > token.MaxLength || !strings.HasPrefix(tok, token.Prefix) {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok[len(token.Prefix):])
	if err != nil {
		return "", "", false
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		return "", "", false
	}
	return u.Host, u.Query().Get("X-Amz-Credential"), true
}

// SharedConfigMentionsFIPS is a deliberately blunt check: rather than parse
// the config file (the SDK's parser is internal), any mention of
// use_fips_endpoint sends the call to kubeiam-core, which reads it properly.
func SharedConfigMentionsFIPS(getenv func(string) string) bool {
	path := getenv("AWS_CONFIG_FILE")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return true
		}
		path = filepath.Join(home, ".aws", "config")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return !os.IsNotExist(err)
	}
	return bytes.Contains(bytes.ToLower(b), []byte("use_fips_endpoint"))
}
