package codec

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/kubeiam/kubeiam/kubeconfig/internal/codec/codectest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// codecInputs are kubeconfigs in the shapes people have: kubectl's layout,
// flow style, odd strings, extensions, base64 blobs inside literal blocks.
func codecInputs(t *testing.T) map[string]string {
	ca := base64.StdEncoding.EncodeToString(codectest.TestCA(t))
	return map[string]string{
		"existing": codectest.Existing,
		"upstream": codectest.Upstream,
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
			out, err := encode(got, Layout{}, 0)
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

// BenchmarkDecode is what the line reader buys over the full path (go-yaml,
// with the blobs lifted out) on a file in kubectl's layout: the reason
// read.go exists.
func BenchmarkDecode(b *testing.B) {
	data := codectest.BigConfig(b, 1000)
	b.SetBytes(int64(len(data)))
	b.Run("lines", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeFast(data); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeFull(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
