package rig

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImageImport: an image written by image.write is one containerd
// imports under every tag and runs, without a registry. It needs root and
// containerd (the node's prerequisites) and skips without them.
func TestImageImport(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Skip("containerd is not installed")
	}
	dir, err := os.MkdirTemp("", "kubeiam-image-test-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Rig{Dir: dir, logf: t.Logf}
	r.node = &node{dir: filepath.Join(dir, "node")}
	r.node.sock = filepath.Join(r.node.dir, "containerd.sock")
	os.MkdirAll(filepath.Join(r.node.dir, "cni"), 0o755)
	t.Cleanup(func() {
		for _, p := range r.node.procs {
			p.stop()
		}
		unmountUnder(dir)
		os.RemoveAll(dir)
	})
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.startContainerd(ctx); err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	files, err := binaryFiles(sh, "true")
	if err != nil {
		t.Fatal(err)
	}
	im := image{tags: []string{"example.com/a/true:v1", "example.com/b/true:v2"}, entrypoint: []string{"/true"}, env: []string{"A=b"}, files: files}
	if err := r.importImage(ctx, "true", im); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ctr", "--address", r.node.sock, "-n", "k8s.io", "images", "ls", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("ctr images ls: %v\n%s", err, out)
	}
	for _, tag := range im.tags {
		if !strings.Contains(string(out), tag) {
			t.Errorf("images: %s, want %s", out, tag)
		}
	}
	// The dynamically linked binary runs from the image alone.
	out, err = exec.Command("ctr", "--address", r.node.sock, "-n", "k8s.io", "run", "--rm", im.tags[1], "image-test").CombinedOutput()
	if err != nil {
		t.Fatalf("ctr run: %v\n%s", err, out)
	}
}
