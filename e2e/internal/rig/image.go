package rig

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// imageFile is one file of an image's single layer.
type imageFile struct {
	path string // inside the image, without the leading slash
	data []byte
	mode int64
}

// image is a one-layer image written in the `docker save` layout, the one
// `ctr images import` reads without a registry.
type image struct {
	tags       []string
	entrypoint []string
	env        []string
	files      []imageFile
}

// binaryFiles returns bin at /name plus, when it is dynamically linked, the
// loader and libraries ldd resolves, at the paths ldd names: the binaries
// come from `go install` with cgo on, and a distroless base is not at hand.
func binaryFiles(bin, name string) ([]imageFile, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("could not read %s: %w", bin, err)
	}
	files := []imageFile{{path: name, data: data, mode: 0o755}}
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		// "not a dynamic executable": static, nothing else needed.
		return files, nil
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		var lib string
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			lib = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			lib = f[0]
		default:
			continue
		}
		b, err := os.ReadFile(lib) // follows symlinks: the image holds the file itself
		if err != nil {
			return nil, fmt.Errorf("could not read %s (a library of %s): %w", lib, bin, err)
		}
		files = append(files, imageFile{path: strings.TrimPrefix(lib, "/"), data: b, mode: 0o755})
	}
	return files, nil
}

// write writes the image as a docker-save tar at path.
func (im image) write(path string) error {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	dirs := map[string]bool{}
	sort.Slice(im.files, func(i, j int) bool { return im.files[i].path < im.files[j].path })
	epoch := time.Unix(0, 0)
	for _, f := range im.files {
		// Parent directories first, as a rootfs tar has them.
		parts := strings.Split(f.path, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch}); err != nil {
					return err
				}
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(layer.Bytes())
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      epoch.UTC().Format(time.RFC3339),
		"config":       map[string]any{"Entrypoint": im.entrypoint, "Env": im.env},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	if err != nil {
		return err
	}
	csum := sha256.Sum256(config)
	configName := hex.EncodeToString(csum[:]) + ".json"
	layerName := hex.EncodeToString(sum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": im.tags, "Layers": []string{layerName}}})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	ow := tar.NewWriter(&out)
	for _, e := range []struct {
		name string
		data []byte
	}{{configName, config}, {layerName, layer.Bytes()}, {"manifest.json", manifest}} {
		if err := ow.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := ow.Write(e.data); err != nil {
			return err
		}
	}
	if err := ow.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// importImage writes im and imports it into containerd's k8s.io namespace,
// where the kubelet's CRI looks for images.
func (r *Rig) importImage(ctx context.Context, name string, im image) error {
	path := filepath.Join(r.Dir, "images", name+".tar")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("could not create image directory: %w", err)
	}
	if err := im.write(path); err != nil {
		return fmt.Errorf("could not write image %s: %w", name, err)
	}
	out, err := exec.CommandContext(ctx, "ctr", "--address", r.node.sock, "-n", "k8s.io", "images", "import", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("could not import image %s: %w\n%s", strings.Join(im.tags, ", "), err, out)
	}
	return nil
}
