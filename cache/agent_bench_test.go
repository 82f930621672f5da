//go:build linux || darwin

package cache

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kubeiam/kubeiam/internal/agent"
	"github.com/kubeiam/kubeiam/internal/agentproto"
)

// BenchmarkAgentRead is what a cached call pays for the data key when the
// kubeiam agent holds it: the socket checks, connect, peer check and one
// line each way (README, "The kubeiam agent").
func BenchmarkAgentRead(b *testing.B) {
	b.Setenv("XDG_RUNTIME_DIR", b.TempDir())
	desc := sessionKeyDesc()
	key := bytes.Repeat([]byte{7}, dataKeySize)
	put := agentproto.Request{Verb: agentproto.Put, Desc: desc, Key: key, Idle: time.Minute}.Line()
	go agent.Run(agentproto.Socket(desc), strings.NewReader(put))
	b.Cleanup(func() { agentStore{}.Drop(desc) })
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if k, err := (agentStore{}).Read(desc); err == nil && bytes.Equal(k, key) {
			break
		}
		if time.Now().After(end) {
			b.Fatal("the agent never answered")
		}
	}
	for b.Loop() {
		if _, err := (agentStore{}).Read(desc); err != nil {
			b.Fatal(err)
		}
	}
}
