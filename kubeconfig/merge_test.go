package kubeconfig

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeiam/kubeiam/kubeconfig/internal/codec"
)

// mergeEntries are the entries the merge tests add: names that sort
// before, between and after the usual ones, and one that replaces.
func mergeEntries(name string) *Entries {
	return &Entries{
		ClusterName: name,
		Cluster:     &clientcmdapi.Cluster{Server: "https://10.255.0.1:6443", CertificateAuthorityData: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")},
		UserName:    name + "-aws",
		User: &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{APIVersion: ExecAPIv1beta1, Command: "kubeiam",
			Args: []string{"token", "-i", name}, InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode}},
		ContextName: name + "-aws",
		Context:     &clientcmdapi.Context{Cluster: name, AuthInfo: name + "-aws"},
	}
}

// mergeBoth prepares the merge of e into data twice: with the list merge
// MergeEntries uses where the file allows it, and with Edit's general path
// alone. It returns the two results and whether the list merge was taken.
func mergeBoth(data []byte, e *Entries, setCurrent bool) (fast, slow *prepared, tookV1 bool) {
	fn := func(c *clientcmdapi.Config) error {
		e.MergeInto(c, setCurrent)
		return nil
	}
	snap := snapshot{data: data, mode: 0o600}
	opts := EditOptions{DryRun: true}
	fast = (&editor{path: "config", opts: opts, fn: e.merge("config", setCurrent)}).prepare(snap)
	slow = (&editor{path: "config", opts: opts, fn: viaAPI("config", fn)}).prepare(snap)
	if doc, err := codec.Decode(data); err == nil && doc != nil && doc.Default() == nil {
		tookV1 = doc.RoundTrips()
	}
	return fast, slow, tookV1
}

func sameResult(t *testing.T, data []byte, fast, slow *prepared) {
	t.Helper()
	if fmt.Sprint(fast.err) != fmt.Sprint(slow.err) {
		t.Fatalf("errors differ on\n%s\nv1 path: %v\ngeneral: %v", data, fast.err, slow.err)
	}
	if !bytes.Equal(fast.after, slow.after) || fast.changed != slow.changed {
		t.Fatalf("results differ on\n%s\n--- v1 path (changed %t)\n%s--- general (changed %t)\n%s", data, fast.changed, fast.after, slow.changed, slow.after)
	}
}

// TestMergeV1MatchesEdit: on every kind of file, the merge made on the v1
// types writes the bytes (or the error) Edit's general path gives, and it
// is taken exactly where the file round-trips.
func TestMergeV1MatchesEdit(t *testing.T) {
	kubectl := string(kubectlLayout(t))
	big := string(bigConfig(t, 20))
	inputs := map[string]struct {
		data   string
		takeV1 bool
	}{
		"kubectl layout":       {kubectl, true},
		"1,000 contexts":       {string(bigConfig(t, 1000)), true},
		"older kubectl":        {strings.Replace(kubectl, "kind: Config\n", "kind: Config\npreferences: {}\n", 1), true},
		"written by ours":      {string(mustEncode(t, []byte(kubectl))), true},
		"no kind":              {strings.Replace(kubectl, "kind: Config\n", "", 1), true},
		"other apiVersion":     {strings.Replace(kubectl, "apiVersion: v1\n", "apiVersion: v0\n", 1), true},
		"null lists":           {"apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n", true},
		"exec to default":      {strings.ReplaceAll(big, "      interactiveMode: IfAvailable\n", ""), true},
		"other layout":         {pyYAMLStyle, true},
		"empty lists":          {"apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: \"\"\nkind: Config\nusers: []\n", false},
		"unsorted":             {strings.Replace(strings.Replace(big, "cluster-0003", "cluster-zzzz", -1), "name: cluster-0019", "name: cluster-0000a", 1), false},
		"duplicate":            {strings.Replace(big, "name: cluster-0004\n", "name: cluster-0003\n", 1), false},
		"extensions":           {existingConfig, false},
		"cluster extension":    {minikubeStyle, false},
		"kind Pod":             {strings.Replace(kubectl, "kind: Config\n", "kind: Pod\n", 1), false},
		"not YAML":             {"clusters: [\n", false},
		"empty":                {"", false},
		"replaces own entries": {string(mustMerge(t, kubectl, "b")), true},
		// Bits set past the data's end: read as the bytes, written back
		// canonical by both paths.
		"non-canonical blob": {"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJDRB==\n    server: https://a\n  name: a\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n", true},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			for _, entry := range []string{"a", "b", "cluster-0005", "0first", "zz-last", "ä"} {
				for _, setCurrent := range []bool{false, true} {
					fast, slow, tookV1 := mergeBoth([]byte(in.data), mergeEntries(entry), setCurrent)
					if tookV1 != in.takeV1 {
						t.Fatalf("v1 path taken: %t, want %t", tookV1, in.takeV1)
					}
					sameResult(t, []byte(in.data), fast, slow)
				}
			}
		})
	}
}

// mustEncode is data decoded and encoded again, in the codec's layout.
func mustEncode(t testing.TB, data []byte) []byte {
	doc, err := codec.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := codec.EncodeBytes(doc, codec.Layout{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mustMerge is data with mergeEntries(name) merged in by the general path.
func mustMerge(t *testing.T, data, name string) []byte {
	_, slow, _ := mergeBoth([]byte(data), mergeEntries(name), false)
	if slow.err != nil {
		t.Fatal(slow.err)
	}
	return slow.after
}

// FuzzMergeV1: whatever the file, the merge on the v1 types gives what
// Edit's general path gives. `go test -fuzz FuzzMergeV1` explores; the
// seeds run in every test run.
func FuzzMergeV1(f *testing.F) {
	f.Add(kubectlLayout(f), "b", true)
	f.Add(bigConfig(f, 3), "cluster-0001", false)
	f.Add([]byte(pyYAMLStyle), "a", false)
	f.Add([]byte(existingConfig), "other", true)
	f.Add([]byte(minikubeStyle), "minikube", false)
	f.Add([]byte("apiVersion: v1\nclusters: []\ncontexts: null\nkind: Config\nusers:\n- name: x\n  user: {}\n"), "x", false)
	f.Fuzz(func(t *testing.T, data []byte, name string, setCurrent bool) {
		fast, slow, _ := mergeBoth(data, mergeEntries(name), setCurrent)
		sameResult(t, data, fast, slow)
	})
}

// TestMergeStreamsToTheFile: a real merge writes what a dry run computes
// (the content is emitted straight into the temporary file), and merging
// the same entries again changes nothing and leaves no file behind.
func TestMergeStreamsToTheFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	data := bigConfig(t, 300)
	writeFile(t, file, string(data), 0o600)
	e := mergeEntries("cluster-0150x")
	dry, err := MergeEntries(t.Context(), file, EditOptions{DryRun: true}, e, true)
	if err != nil || !dry.Changed {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	_, want, _ := mergeBoth(data, e, true)
	res, err := MergeEntries(t.Context(), file, EditOptions{}, e, true)
	if err != nil || !res.Changed {
		t.Fatalf("merge: %+v, %v", res, err)
	}
	if got := readFile(t, file); got != string(want.after) {
		t.Fatalf("the file is not the dry run's content:\n%s", got)
	}
	again, err := MergeEntries(t.Context(), file, EditOptions{}, e, true)
	if err != nil || again.Changed {
		t.Fatalf("second merge: %+v, %v", again, err)
	}
	if got := readFile(t, file); got != string(want.after) {
		t.Fatal("the second merge changed the file")
	}
	if names := dirNames(t, dir); strings.Join(names, " ") != "config config.bak" {
		t.Errorf("directory holds %v", names)
	}
	if os.Getuid() == 0 {
		return // root writes through the directory's mode
	}
	// A merge that changes nothing needs no temporary file, so it succeeds
	// through a link into a directory it cannot write (the lock is beside
	// the link); one that changes something says why it cannot, and leaves
	// the file as it was.
	link := filepath.Join(t.TempDir(), "config")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if res, err := MergeEntries(t.Context(), link, EditOptions{}, e, true); err != nil || res.Changed {
		t.Fatalf("no-op merge in a read-only directory: %+v, %v", res, err)
	}
	if _, err := MergeEntries(t.Context(), link, EditOptions{}, mergeEntries("new"), true); err == nil || !strings.Contains(err.Error(), "could not write") {
		t.Fatalf("merge in a read-only directory: %v", err)
	}
	if got := readFile(t, file); got != string(want.after) {
		t.Fatal("a failed merge changed the file")
	}
}

// BenchmarkMergeEntries is `kubeiam kubeconfig write --merge` into a
// kubeconfig of 1,000 contexts, as the library does it (no process start).
func BenchmarkMergeEntries(b *testing.B) {
	data := bigConfig(b, 1000)
	file := filepath.Join(b.TempDir(), "config")
	e := mergeEntries("new")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		if err := os.WriteFile(file, data, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := MergeEntries(b.Context(), file, EditOptions{}, e, false); err != nil {
			b.Fatal(err)
		}
	}
}
