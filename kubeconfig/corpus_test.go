package kubeconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubeiam/kubeiam/internal/kubeconfigtest"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/corpus/golden from the current code")

// corpus is every kind of kubeconfig the codec meets: the files in
// testdata/corpus (written by a real kubectl, or by hand: comments, odd
// quoting, CRLF, flow style, JSON, blobs in every form, broken ones) and
// large ones built here (1,000 contexts of exec users and CA blobs, as
// kubectl and as the benchmark write them, and in layouts the line reader
// declines).
func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.*")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string][]byte{}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in[filepath.Base(f)] = b
	}
	big := bigConfig(t, 1000)
	in["gen-kubectl-layout"] = kubectlLayout(t)
	in["gen-existing"] = []byte(existingConfig)
	in["gen-upstream"] = []byte(upstreamConfig)
	in["gen-minikube"] = []byte(minikubeStyle)
	in["gen-pyyaml"] = []byte(pyYAMLStyle)
	in["gen-big-1000"] = big
	in["gen-bench-1000"] = kubeconfigtest.Generate(1000) // the file make bench times
	in["gen-big-1000-comment"] = append([]byte("# a comment\n"), big...)
	in["gen-big-1000-crlf"] = bytes.ReplaceAll(big, []byte("\n"), []byte("\r\n"))
	in["gen-big-1000-quoted-blobs"] = bytes.ReplaceAll(big, []byte("certificate-authority-data: "), []byte("certificate-authority-data: \"")) // broken quotes: an error
	return in
}

// TestCodecCorpus holds every public way a kubeconfig is read and written
// (Parse, Edit changing nothing, Edit adding entries, MergeEntries adding
// and replacing, a dry run's diff, Edit with Replace) to the outputs in
// testdata/corpus/golden, byte for byte: any change to what kubeiam reads
// or writes shows here. -update-corpus rewrites them (then read the diff).
func TestCodecCorpus(t *testing.T) {
	for name, data := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			got := corpusOutputs(t, data)
			golden := filepath.Join("testdata", "corpus", "golden", name+".golden")
			if *updateCorpus {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("outputs differ from %s:\n%s", golden, firstDiff(got, want))
			}
		})
	}
}

// corpusOutputs runs every operation on data and records the results:
// outputs up to 16 KB as they are, larger ones by length and SHA-256.
func corpusOutputs(t *testing.T, data []byte) []byte {
	var out bytes.Buffer
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	norm := func(s string) string { return strings.ReplaceAll(s, dir, "$DIR") }
	record := func(op string, b []byte, err error, extra string) {
		fmt.Fprintf(&out, "== %s%s\n", op, extra)
		if err != nil {
			fmt.Fprintf(&out, "error: %s\n", norm(err.Error()))
			return
		}
		b = []byte(norm(string(b)))
		if len(b) > 16<<10 {
			fmt.Fprintf(&out, "%d bytes, sha256 %x\n", len(b), sha256.Sum256(b))
			return
		}
		out.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			out.WriteString("\n(no final newline)\n")
		}
	}

	cfg, err := Parse("config", data)
	var js []byte
	if err == nil {
		js, err = json.MarshalIndent(cfg, "", " ")
	}
	record("parse", js, err, "")

	edit := func(op string, opts EditOptions, fn func(*clientcmdapi.Config) error, merge *Entries, setCurrent bool) {
		t.Helper()
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var res *EditResult
		var err error
		if merge != nil {
			res, err = MergeEntries(t.Context(), file, opts, merge, setCurrent)
		} else {
			res, err = Edit(t.Context(), file, opts, fn)
		}
		if err != nil {
			record(op, nil, err, "")
			return
		}
		after, rerr := os.ReadFile(file)
		if rerr != nil {
			t.Fatal(rerr)
		}
		extra := fmt.Sprintf(" (changed %t)", res.Changed)
		if opts.DryRun {
			record(op, numberMarkers(res.Diff), nil, extra)
			if !bytes.Equal(after, data) {
				t.Errorf("%s: a dry run changed the file", op)
			}
			return
		}
		record(op, after, nil, extra)
		if res.Changed {
			if bak, _ := os.ReadFile(file + ".bak"); !bytes.Equal(bak, data) {
				t.Errorf("%s: .bak is not the old file", op)
			}
		}
	}
	nothing := func(*clientcmdapi.Config) error { return nil }
	add := func(c *clientcmdapi.Config) error {
		c.Clusters["golden-new"] = &clientcmdapi.Cluster{Server: "https://10.9.9.9:6443", CertificateAuthorityData: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")}
		c.AuthInfos["golden-new"] = &clientcmdapi.AuthInfo{ClientKeyData: []byte("key"), Exec: &clientcmdapi.ExecConfig{APIVersion: ExecAPIv1beta1, Command: "kubeiam", Args: []string{"token", "-i", "golden-new"}}}
		c.Contexts["golden-new"] = &clientcmdapi.Context{Cluster: "golden-new", AuthInfo: "golden-new", Namespace: "yes"}
		c.CurrentContext = "golden-new"
		return nil
	}
	edit("edit-nothing", EditOptions{}, nothing, nil, false)
	edit("edit-add", EditOptions{}, add, nil, false)
	edit("merge-a-current", EditOptions{}, nil, mergeEntries("a"), true)
	edit("merge-new", EditOptions{}, nil, mergeEntries("m-new"), false)
	edit("merge-existing", EditOptions{}, nil, mergeEntries("eks-prod"), false)
	edit("merge-big-existing", EditOptions{}, nil, mergeEntries("cluster-0005"), true)
	edit("dryrun-merge", EditOptions{DryRun: true}, nil, mergeEntries("m-new"), true)
	edit("replace", EditOptions{Replace: true}, add, nil, false)
	return out.Bytes()
}

// numberMarkers replaces the redaction markers' keyed hashes (a fresh key
// each run) with their order of appearance, which still tells equal
// secrets from different ones.
func numberMarkers(diff []byte) []byte {
	seen := map[string]string{}
	return markerRE.ReplaceAllFunc(diff, func(m []byte) []byte {
		n, ok := seen[string(m)]
		if !ok {
			n = fmt.Sprintf("#%d", len(seen)+1)
			seen[string(m)] = n
		}
		return append(bytes.TrimRight(m, "0123456789abcdef"), n...)
	})
}

var markerRE = regexp.MustCompile(`(DATA\+OMITTED|REDACTED)-[0-9a-f]{8}`)

// firstDiff shows where got first differs from want, a few lines each.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			lo, hi := max(0, i-3), i+4
			return fmt.Sprintf("line %d\n--- got\n%s\n--- want\n%s", i+1,
				strings.Join(g[lo:min(hi, len(g))], "\n"), strings.Join(w[lo:min(hi, len(w))], "\n"))
		}
	}
	return "(same lines)"
}
