package kubeconfig

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// codecInputs are kubeconfigs in the shapes people have: kubectl's layout,
// flow style, odd strings, extensions, base64 blobs inside literal blocks.
func codecInputs(t *testing.T) map[string]string {
	ca := base64.StdEncoding.EncodeToString(testCA(t))
	return map[string]string{
		"existing": existingConfig,
		"upstream": upstreamConfig,
		"empty":    "",
		"blobs": `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ` + ca + `
    server: https://a:6443
  name: a
- name: b
  cluster:
    certificate-authority-data: "` + ca + `"
    server: https://b:6443
users:
- name: u
  user:
    client-certificate-data: ` + ca + `
    client-key-data: ` + ca + `
    token: ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ
- name: hint
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubeiam
      args: ["token", "-i", "007", "--region=us-east-1", "yes", "", "a: b", "#x", "- y", "1e3", "0x1F", "~", "with space", "ünïcode", "tab\there"]
      installHint: |
        line one
        key: ` + ca + `
          indented: more
      env:
      - name: EMPTY
        value: ""
      - name: NUM
        value: "42"
contexts:
- name: c
  context: {cluster: a, user: u, namespace: "null"}
current-context: c
preferences: {}
`,
	}
}

// TestCodecMatchesClientcmd: the fast codec reads every input to the same
// objects clientcmd.Load does, and what it writes clientcmd reads back to
// the same objects again (and kubectl too, in the script tests).
func TestCodecMatchesClientcmd(t *testing.T) {
	for name, in := range codecInputs(t) {
		t.Run(name, func(t *testing.T) {
			want, err := clientcmd.Load([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decode differs from clientcmd.Load:\n got %#v\nwant %#v", got, want)
			}
			out, err := encode(got, layout{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			back, err := clientcmd.Load(out)
			if err != nil {
				t.Fatalf("clientcmd cannot read encode's output: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(back, want) {
				t.Fatalf("round trip differs:\n%s", out)
			}
			// Byte for byte what kubectl writes, odd strings' quotes included:
			// that keeps files kubectl wrote on the fast path.
			ref, _ := clientcmd.Write(*want)
			if !bytes.Equal(out, ref) {
				t.Errorf("layout differs from kubectl's:\n--- ours\n%s\n--- clientcmd\n%s", out, ref)
			}
		})
	}
}

func bigConfig(t testing.TB, n int) []byte {
	ca := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("certificate bytes "), 60))
	cfg := clientcmdapi.NewConfig()
	for i := range n {
		name := fmt.Sprintf("cluster-%04d", i)
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: fmt.Sprintf("https://10.1.%d.%d:6443", i/250, i%250), CertificateAuthorityData: []byte(ca)}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{APIVersion: ExecAPIv1beta1, Command: "aws-iam-authenticator", Args: []string{"token", "-i", name}, InteractiveMode: "IfAvailable"}}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

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

// TestPlainSafeUUIDsAgreeWithTheParser: the fast path for cluster IDs says
// plain exactly when the YAML parser kubectl uses reads them back as the
// same string.
func TestPlainSafeUUIDsAgreeWithTheParser(t *testing.T) {
	for _, s := range []string{
		"6d9b1f5e-1c2a-4c36-9e0f-2a7d4e1c0b11", "12345678-1234-1234-1234-123456789012",
		"00000000-0000-0000-0000-000000000000", "ABCDEF01-2345-6789-ABCD-EF0123456789",
	} {
		if !isUUID(s) || !plainSafe(s) {
			t.Errorf("%s: isUUID %t plainSafe %t", s, isUUID(s), plainSafe(s))
		}
		js, err := yaml.YAMLToJSON([]byte("v: " + s))
		if err != nil || string(js) != `{"v":"`+s+`"}` {
			t.Errorf("%s reads back as %s (%v)", s, js, err)
		}
	}
	for _, s := range []string{"1234567812341234123412345678901234", "6d9b1f5e-1c2a-4c36-9e0f-2a7d4e1c0b1g", "2024-01-01T00:00:00Z-aaaaaaaaaaaaa"} {
		if isUUID(s) {
			t.Errorf("%s taken for a UUID", s)
		}
	}
}
