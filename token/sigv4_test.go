package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// presignedSignature recomputes a presigned URL's SigV4 signature from the
// published algorithm, independently of the SDK signer, so tests check the
// token against the spec rather than against the code that made it.
func presignedSignature(rawURL, clusterID, secretKey string) (got, want string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	got = q.Get("X-Amz-Signature")
	q.Del("X-Amz-Signature")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, awsEscape(k)+"="+awsEscape(q.Get(k)))
	}
	headers := map[string]string{"host": u.Host, "x-k8s-aws-id": clusterID}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	var canonHeaders strings.Builder
	for _, h := range signed {
		canonHeaders.WriteString(h + ":" + headers[h] + "\n")
	}
	canonical := strings.Join([]string{"GET", "/", strings.Join(pairs, "&"), canonHeaders.String(), q.Get("X-Amz-SignedHeaders"), emptySHA256}, "\n")
	cred := strings.Split(q.Get("X-Amz-Credential"), "/") // AKID/date/region/service/aws4_request
	scope := strings.Join(cred[1:], "/")
	h := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", q.Get("X-Amz-Date"), scope, hex.EncodeToString(h[:])}, "\n")
	k := hmacSHA256([]byte("AWS4"+secretKey), cred[1])
	k = hmacSHA256(k, cred[2])
	k = hmacSHA256(k, cred[3])
	k = hmacSHA256(k, "aws4_request")
	return got, hex.EncodeToString(hmacSHA256(k, toSign)), nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// awsEscape is SigV4's URI encoding: everything but unreserved characters.
func awsEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}
