package bundle

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkInstall installs a 32 MiB incompressible binary from a tarball
// and bare over loopback HTTPS; `go test -bench Install -cpuprofile` shows
// where an install spends its time.
func BenchmarkInstall(b *testing.B) {
	payload := make([]byte, 32<<20)
	rand.Read(payload)
	t := &testing.T{}
	s := newServer(t)
	defer s.Close()
	tgz := authTarball(t, string(payload))
	for name, sel := range map[string]*Selection{
		"tarball": selection(ComponentAuthenticator, s.put("/a.tar.gz", tgz), tgz),
		"bare":    selection(ComponentKubectl, s.put("/kubectl", payload), payload),
	} {
		b.Run(name, func(b *testing.B) {
			f := s.fetcher(t)
			bin := b.TempDir()
			b.SetBytes(int64(len(payload)))
			for range b.N {
				os.Remove(filepath.Join(bin, sel.Binary()))
				if _, err := Install(context.Background(), f, sel, InstallOptions{BinDir: bin, StateDir: b.TempDir(), SkipVersion: true, Force: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
