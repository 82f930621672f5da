package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// BenchmarkMerge1000 is the yardstick: one merge into a kubeconfig
// of 1,000 contexts (read, parse, add, encode, write, rename, under lock).
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{250, 1000, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			data := bigConfig(b, n)
			file := b.TempDir() + "/config"
			os.WriteFile(file, data, 0o600)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Edit(context.Background(), file, EditOptions{}, addContext("new")); err != nil {
					b.Fatal(err)
				}
				// Take it out again so every iteration really writes.
				Edit(context.Background(), file, EditOptions{}, func(c *clientcmdapi.Config) error {
					delete(c.Contexts, "new")
					delete(c.Clusters, "new")
					delete(c.AuthInfos, "new")
					return nil
				})
			}
		})
	}
}

// TestMergeSpeed guards the codec's reason to exist, relative to clientcmd in
// the same run so a loaded machine does not make it flaky: a merge into
// 1,000 contexts must beat clientcmd's bare Load and Write of the same file.
// The absolute number (target 100 ms) comes from BenchmarkMerge.
func TestMergeSpeed(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing")
	}
	data := bigConfig(t, 1000)
	file := t.TempDir() + "/config"
	os.WriteFile(file, data, 0o600)
	ours, theirs := time.Hour, time.Hour
	for i := range 3 {
		start := time.Now()
		if _, err := Edit(context.Background(), file, EditOptions{}, addContext(fmt.Sprint("new", i))); err != nil {
			t.Fatal(err)
		}
		ours = min(ours, time.Since(start))
		start = time.Now()
		c, err := clientcmd.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clientcmd.Write(*c); err != nil {
			t.Fatal(err)
		}
		theirs = min(theirs, time.Since(start))
	}
	t.Logf("merge into 1,000 contexts (%d KB): %s; clientcmd load+write alone: %s", len(data)/1024, ours, theirs)
	if ours > theirs {
		t.Errorf("merge (%s) slower than clientcmd's load+write (%s)", ours, theirs)
	}
}

// TestBackupIsTheOldFile: the .bak is the previous file itself (a hard link
// where the filesystem has them): same bytes and mode, and the new file is
// another inode, so writing one never changes the other.
func TestBackupIsTheOldFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	writeFile(t, file, existingConfig, 0o640)
	if _, err := Edit(t.Context(), file, EditOptions{}, addContext("new")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, file+".bak"); got != existingConfig {
		t.Fatalf(".bak is not the old content:\n%s", got)
	}
	bak, _ := os.Stat(file + ".bak")
	cur, _ := os.Stat(file)
	if bak.Mode().Perm() != 0o640 || cur.Mode().Perm() != 0o640 {
		t.Errorf("modes: .bak %v, file %v; want 0640", bak.Mode(), cur.Mode())
	}
	if os.SameFile(bak, cur) {
		t.Fatal(".bak and the file are one inode")
	}
	if names := dirNames(t, filepath.Dir(file)); !slices.Equal(names, []string{"config", "config.bak"}) {
		t.Errorf("directory holds %v", names)
	}
}

// TestCommitStopsBeforeTheRename: when the step before the rename (the
// backup) fails, the file and its directory are as they were.
func TestCommitStopsBeforeTheRename(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	writeFile(t, file, existingConfig, 0o600)
	tmp, err := stageFile(file, []byte("new"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	err = commitFile(tmp, file, func() error { return errors.New("no backup") })
	if err == nil || err.Error() != "no backup" {
		t.Fatalf("commitFile: %v", err)
	}
	if readFile(t, file) != existingConfig {
		t.Error("the file changed")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"config"}) {
		t.Errorf("directory holds %v", names)
	}
}
