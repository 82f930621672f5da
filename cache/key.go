package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
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
func (k Key) ID() string {
	// Fields are the JSON of a struct of strings: Marshal cannot fail.
	b, _ := json.Marshal(keyForID(k))
	h := sha256.New()
	h.Write([]byte(keyIDVersion))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// keyForID spells every field out without omitempty, so adding a field with
// omitempty to Key later cannot silently change the IDs of existing entries.
type keyForID struct {
	ClusterID, Partition, Region, Endpoint, Profile, RoleARN, ExternalID, SessionName, Source string
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
