// Package agentproto is what the kubeiam agent and its clients agree on:
// where the socket is and the one-line protocol spoken over it. It is linked
// into the front binary, so it uses nothing beyond the standard library's
// basics.
//
// One connection carries one request line and one response line:
//
//	kubeiam-agent/1 GET <desc>                    → KEY <base64>  | NONE
//	kubeiam-agent/1 PUT <desc> <base64> <idle s>  → OK
//	kubeiam-agent/1 DROP <desc>                   → OK            (the agent exits)
//	kubeiam-agent/1 STATUS <desc>                 → HELD <pid> <left s> | EMPTY <pid>
//
// and ERR <reason> for anything refused. A request naming another version
// is answered ERR, so a newer client meets an older agent as "no agent"
// rather than being misread.
package agentproto

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Version starts every request line.
const Version = "kubeiam-agent/1"

// Verbs.
const (
	Get    = "GET"
	Put    = "PUT"
	Drop   = "DROP"
	Status = "STATUS"
)

// Responses.
const (
	Key   = "KEY"
	None  = "NONE"
	OK    = "OK"
	Held  = "HELD"
	Empty = "EMPTY"
	Err   = "ERR"
)

// MaxLine bounds a line either side reads; a key line is under 200 bytes.
const MaxLine = 512

// Dir is the directory the agent's socket lives in: $XDG_RUNTIME_DIR/kubeiam
// (per user, in memory, removed at logout), else a directory with the uid
// in its name under the temporary directory. Either must be the user's own
// and private (0700); both sides check before using it.
func Dir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "kubeiam")
	}
	return filepath.Join(os.TempDir(), "kubeiam-"+strconv.Itoa(os.Getuid()))
}

// Socket is the socket of the agent holding the key named desc
// ("kubeiam:datakey:<hex>"): one agent per user and keyring item.
func Socket(desc string) string {
	_, id, _ := strings.Cut(desc, "datakey:")
	return filepath.Join(Dir(), "agent-"+id+".sock")
}

// Request is one parsed request line.
type Request struct {
	Verb string
	Desc string
	Key  []byte
	Idle time.Duration
}

// Line renders r as a request line, newline included.
func (r Request) Line() string {
	s := Version + " " + r.Verb + " " + r.Desc
	if r.Verb == Put {
		s += " " + EncodeKey(r.Key) + " " + strconv.FormatInt(int64(r.Idle/time.Second), 10)
	}
	return s + "\n"
}

// ParseRequest reads a request line (without its newline).
func ParseRequest(line string) (Request, error) {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != Version {
		return Request{}, errors.New("unsupported request version")
	}
	r := Request{Verb: f[1], Desc: f[2]}
	if !strings.HasPrefix(r.Desc, "kubeiam:datakey:") {
		return Request{}, errors.New("bad key description")
	}
	want := 3
	switch r.Verb {
	case Get, Drop, Status:
	case Put:
		want = 5
		if len(f) == want {
			k, err := DecodeKey(f[3])
			idle, ierr := strconv.ParseInt(f[4], 10, 32)
			if err != nil || ierr != nil || idle <= 0 || len(k) == 0 || len(k) > 64 {
				return Request{}, errors.New("bad PUT")
			}
			r.Key, r.Idle = k, time.Duration(idle)*time.Second
		}
	default:
		return Request{}, errors.New("unknown verb")
	}
	if len(f) != want {
		return Request{}, errors.New("wrong number of fields")
	}
	return r, nil
}

// EncodeKey is how a key travels in a line.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// DecodeKey reads a key as EncodeKey wrote it.
func DecodeKey(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
