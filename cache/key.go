package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/kubeiam/kubeiam/internal/jsonstr"
)

// Backend names where entries are stored.
type Backend string

// The backends. Auto is the default: the keyring when it answers, else File.
const (
	Auto    Backend = "auto"
	Keyring Backend = "keyring"
	File    Backend = "file"
	None    Backend = "none"
)

// ParseBackend reads a --cache flag or KUBEIAM_CACHE value; empty means Auto.
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(strings.ToLower(strings.TrimSpace(s))); b {
	case "":
		return Auto, nil
	case Auto, Keyring, File, None:
		return b, nil
	default:
		return "", fmt.Errorf("unknown cache backend %q: use auto, keyring, file or none", s)
	}
}

// Key is everything that changes the answer, and never a secret: two calls
// with equal Keys may share a token, two with different Keys never do.
// Switching AWS profile, role or credential source changes the Key.
type Key struct {
	ClusterID   string `json:"clusterID"`
	Partition   string `json:"partition,omitempty"`
	Region      string `json:"region,omitempty"`
	Endpoint    string `json:"endpoint,omitempty"` // the STS host signed for (regional, global, FIPS)
	Profile     string `json:"profile,omitempty"`
	RoleARN     string `json:"roleARN,omitempty"`
	ExternalID  string `json:"externalID,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
	// Source fingerprints the base credentials (env access key ID, config
	// file paths and mtimes, web identity token file, ...); the caller
	// computes it and must not put secrets in it.
	Source string `json:"source,omitempty"`
}

// keyIDVersion is hashed into every ID; bump it when the meaning of a field
// changes so old entries become misses rather than wrong answers.
const keyIDVersion = "kubeiam-cache-key-v1\n"

// ID is the hex SHA-256 of the Key, used as the file name. The Key is a
// fixed struct with no maps, so its JSON encoding (field order as declared)
// is stable; a map would scramble the order, as it did kubelogin's keys.
//
// What is hashed is the JSON encoding/json gives a struct of these string
// fields, untagged and without omitempty, so adding a field with omitempty
// to Key later cannot silently change the IDs of existing entries. It is
// written by hand (see jsonstr): a test holds it to encoding/json.
func (k Key) ID() string {
	fields := [...]struct{ name, value string }{
		{"ClusterID", k.ClusterID}, {"Partition", k.Partition}, {"Region", k.Region}, {"Endpoint", k.Endpoint},
		{"Profile", k.Profile}, {"RoleARN", k.RoleARN}, {"ExternalID", k.ExternalID}, {"SessionName", k.SessionName}, {"Source", k.Source},
	}
	b := append(make([]byte, 0, 512), keyIDVersion...)
	sep := byte('{')
	for _, f := range fields {
		b = append(b, sep)
		sep = ','
		b = append(jsonstr.Append(b, f.name), ':')
		b = jsonstr.Append(b, f.value)
	}
	sum := sha256.Sum256(append(b, '}'))
	return hex.EncodeToString(sum[:])
}

func isEntryID(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
