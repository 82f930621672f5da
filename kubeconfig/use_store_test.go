package kubeconfig

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestPreviousStoreKeepsConcurrentEntries: terminals switching contexts in
// different kubeconfigs at the same moment each keep their entry; none
// writes back a stale copy over another's.
func TestPreviousStoreKeepsConcurrentEntries(t *testing.T) {
	s := PreviousStore{Path: filepath.Join(t.TempDir(), "state", "previous-context.json")}
	const n = 24
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Set(fmt.Sprintf("/kube/config-%d", i), fmt.Sprint("ctx-", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if got, err := s.Get(fmt.Sprintf("/kube/config-%d", i)); err != nil || got != fmt.Sprint("ctx-", i) {
			t.Errorf("config-%d: %q %v: an entry was lost", i, got, err)
		}
	}
}
