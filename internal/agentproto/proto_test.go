package agentproto

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const desc = "kubeiam:datakey:0123456789abcdef"

func TestRequestRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{0xa5}, 32)
	for _, r := range []Request{
		{Verb: Get, Desc: desc},
		{Verb: Put, Desc: desc, Key: key, Idle: time.Hour},
		{Verb: Drop, Desc: desc},
		{Verb: Status, Desc: desc},
	} {
		line := r.Line()
		if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
			t.Fatalf("%q is not one line", line)
		}
		got, err := ParseRequest(strings.TrimSuffix(line, "\n"))
		if err != nil || got.Verb != r.Verb || got.Desc != r.Desc || !bytes.Equal(got.Key, r.Key) || got.Idle != r.Idle {
			t.Errorf("%q read back as %+v, %v", line, got, err)
		}
	}
}

func TestParseRequestRefuses(t *testing.T) {
	for _, line := range []string{
		"",
		"kubeiam-agent/2 GET " + desc,        // another version
		"GET " + desc,                        // no version
		"kubeiam-agent/1 GET other:name",     // not a data key's name
		"kubeiam-agent/1 LIST " + desc,       // unknown verb
		"kubeiam-agent/1 GET " + desc + " x", // extra field
		"kubeiam-agent/1 PUT " + desc,        // no key
		"kubeiam-agent/1 PUT " + desc + " !! 3600",
		"kubeiam-agent/1 PUT " + desc + " AAAA 0",
		"kubeiam-agent/1 PUT " + desc + " AAAA -5",
		"kubeiam-agent/1 PUT " + desc + " " + strings.Repeat("A", 200) + " 3600", // longer than any key
	} {
		if r, err := ParseRequest(line); err == nil {
			t.Errorf("%q accepted as %+v", line, r)
		}
	}
}

func TestSocketIsPerUserAndKey(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got := Socket(desc); got != "/run/user/1000/kubeiam/agent-0123456789abcdef.sock" {
		t.Errorf("socket %s", got)
	}
	t.Setenv("XDG_RUNTIME_DIR", "relative/dir") // not a runtime dir: ignored
	if got := Dir(); !strings.HasPrefix(got, "/") || !strings.Contains(got, "kubeiam-") {
		t.Errorf("dir %s", got)
	}
}
