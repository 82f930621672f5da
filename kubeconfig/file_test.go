package kubeconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/internal/testwait"
)

func addContext(name string) func(*clientcmdapi.Config) error {
	return func(c *clientcmdapi.Config) error {
		c.Clusters[name] = &clientcmdapi.Cluster{Server: "https://" + name + ":6443"}
		c.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: "t"}
		c.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
		return nil
	}
}

func TestLockWaitsThenTimesOutAndNeverLeavesTheFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	unlock, err := Lock(context.Background(), file, LockOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file + ".lock"); err != nil {
		t.Fatalf("lock file missing while held: %v", err)
	}
	start := time.Now()
	_, err = Lock(context.Background(), file, LockOptions{Timeout: 150 * time.Millisecond})
	var le *LockError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock = %v, want LockError", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("gave up after %s, before the timeout", d)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("lock file left behind: %v", err)
	}

	// A waiter gets the lock once the holder lets go: released once the
	// waiter has looked at the held lock (opened it to read its holder).
	unlock, _ = Lock(context.Background(), file, LockOptions{Timeout: time.Second})
	// Without inotify (not Linux) there is no such signal: the waiter may
	// then find the lock already free, and the test checks less.
	looked, _ := testwait.WatchOpen(t, file+".lock")
	got := make(chan error, 1)
	go func() {
		unlock2, err := Lock(context.Background(), file, LockOptions{Timeout: 10 * time.Second})
		if err == nil {
			err = unlock2()
		}
		got <- err
	}()
	looked()
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("waiter did not get the lock: %v", err)
	}
}

func TestEditKeepsEverythingElseModeAndBackup(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	writeFile(t, file, existingConfig, 0o640)

	res, err := Edit(context.Background(), file, EditOptions{}, addContext("c1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Backup != file+".bak" {
		t.Fatalf("result = %+v", res)
	}
	cfg, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Contexts["c1"] == nil || cfg.Contexts["other"] == nil || cfg.Contexts["other"].Namespace != "team-a" {
		t.Errorf("contexts = %v", cfg.Contexts)
	}
	if cfg.AuthInfos["other-user"] == nil || cfg.AuthInfos["other-user"].Token != "abc" {
		t.Errorf("other user lost: %v", cfg.AuthInfos)
	}
	if cfg.CurrentContext != "other" {
		t.Errorf("current-context = %q, want it untouched", cfg.CurrentContext)
	}
	if !cfg.Preferences.Colors {
		t.Error("preferences lost")
	}
	got := readFile(t, file)
	for _, want := range []string{"example.com/top", "kept:", "client.authentication.k8s.io/exec", "audience: other"} {
		if !strings.Contains(got, want) {
			t.Errorf("extension content %q lost:\n%s", want, got)
		}
	}
	fi, _ := os.Stat(file)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640 kept", fi.Mode().Perm())
	}
	if readFile(t, file+".bak") != existingConfig {
		t.Error(".bak is not the previous content")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"config", "config.bak"}) {
		t.Errorf("left in dir: %v", names)
	}
}

func TestEditNewFileIs0600AndSecondIdenticalEditIsNoop(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "config")
	if _, err := Edit(context.Background(), file, EditOptions{}, addContext("c1")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode = %v, want 0600", fi.Mode().Perm())
	}
	res, err := Edit(context.Background(), file, EditOptions{}, addContext("c1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed {
		t.Error("identical edit reported a change")
	}
	if _, err := os.Stat(file + ".bak"); !os.IsNotExist(err) {
		t.Error("no-op edit wrote a backup")
	}
}

func TestEditDryRunWritesNothingAndDiffs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	writeFile(t, file, existingConfig, 0o600)
	res, err := Edit(context.Background(), file, EditOptions{DryRun: true}, addContext("c1"))
	if err != nil {
		t.Fatal(err)
	}
	d := string(res.Diff)
	if !strings.Contains(d, "+++ "+file) || !strings.Contains(d, "+  name: c1") {
		t.Errorf("diff:\n%s", d)
	}
	if readFile(t, file) != existingConfig {
		t.Error("dry run changed the file")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"config"}) {
		t.Errorf("left in dir: %v", names)
	}
}

func TestEditBadInputsWriteNothing(t *testing.T) {
	cases := []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"malformed", "apiVersion: v1\nclusters: [\n", 0o600, "could not parse kubeconfig"},
		{"wrong type", "apiVersion: v1\nkind: Config\nclusters: 3\n", 0o600, "could not parse kubeconfig"},
		{"read-only", existingConfig, 0o400, "read-only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "config")
			writeFile(t, file, tc.content, tc.mode)
			_, err := Edit(context.Background(), file, EditOptions{}, addContext("c1"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("err = %v, want %q naming the file", err, tc.want)
			}
			if readFile(t, file) != tc.content {
				t.Error("file changed")
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"config"}) {
				t.Errorf("left in dir: %v", names)
			}
		})
	}
}

func TestEditFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "kubeconfig")
	writeFile(t, real, existingConfig, 0o600)
	link := filepath.Join(dir, "config")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Edit(context.Background(), link, EditOptions{}, addContext("c1")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("symlink replaced by a file")
	}
	if !strings.Contains(readFile(t, real), "name: c1") {
		t.Error("target not written")
	}
}

func TestConcurrentEditsLoseNothing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := Edit(context.Background(), file, EditOptions{}, addContext("c"+string(rune('a'+i))))
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Contexts) != 16 {
		t.Errorf("%d contexts, want 16", len(cfg.Contexts))
	}
	if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
		t.Error("lock left behind")
	}
}
