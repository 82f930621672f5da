package codec

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubeiam/kubeiam/kubeconfig/internal/codec/codectest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// TestFastPathReadsKubectlLayout: files as kubectl writes them take the line
// reader, which reads them to exactly what clientcmd reads.
func TestFastPathReadsKubectlLayout(t *testing.T) {
	inputs := map[string][]byte{
		"kubectl layout":  codectest.KubectlLayout(t),
		"1,000 contexts":  codectest.BigConfig(t, 1000),
		"older kubectl":   bytes.Replace(codectest.KubectlLayout(t), []byte("kind: Config\n"), []byte("kind: Config\npreferences: {}\n"), 1),
		"no current":      []byte("apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n"),
		"written by ours": mustEncode(t, codectest.KubectlLayout(t)),
		"extensions":      []byte(codectest.MinikubeStyle),
	}
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		// What the kubectl on this machine writes, whatever its version.
		file := filepath.Join(t.TempDir(), "config")
		for _, args := range [][]string{
			{"config", "set-cluster", "x", "--server=https://x:6443", "--insecure-skip-tls-verify=true"},
			{"config", "set-credentials", "x", "--exec-command=kubeiam", "--exec-arg=token", "--exec-arg=-i", "--exec-arg=x", "--exec-api-version=client.authentication.k8s.io/v1beta1", "--exec-env=AWS_PROFILE=p"},
			{"config", "set-context", "x", "--cluster=x", "--user=x", "--namespace=n"},
			{"config", "use-context", "x"},
		} {
			if out, err := exec.Command(kubectl, append([]string{"--kubeconfig", file}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("kubectl %v: %v\n%s", args, err, out)
			}
		}
		inputs["real kubectl"] = []byte(readFile(t, file))
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			fast, ok := decodeFast(data)
			if !ok {
				t.Fatalf("the line reader did not take this file:\n%s", data)
			}
			full, err := decodeFull(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast.V1(), full.V1()) {
				t.Fatalf("line reader and full path differ:\nfast %#v\nfull %#v", fast.V1(), full.V1())
			}
			got, err := decode(data)
			if err != nil {
				t.Fatal(err)
			}
			want, err := clientcmd.Load(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decode differs from clientcmd.Load")
			}
			// An edit that changes nothing writes the same bytes.
			if again, err := encode(got, LayoutOf(data), 0); err != nil || !bytes.Equal(again, data) {
				t.Fatalf("re-encoding changed the file (%v):\n%s", err, again)
			}
		})
	}
}

// TestFastPathDeclines: files in other layouts, or that the reader would
// get wrong, are left to the full path — and decode still reads them as
// clientcmd does.
func TestFastPathDeclines(t *testing.T) {
	base := string(codectest.KubectlLayout(t))
	for name, data := range map[string]string{
		"comment":              strings.Replace(base, "clusters:\n", "# mine\nclusters:\n", 1),
		"blank line":           strings.Replace(base, "contexts:\n", "\ncontexts:\n", 1),
		"unsorted keys":        strings.Replace(base, "apiVersion: v1\n", "", 1) + "apiVersion: v1\n",
		"indented sequence":    strings.ReplaceAll(base, "\n- ", "\n  - "),
		"flow mapping":         strings.Replace(base, "current-context: a\n", "current-context: {a: b}\n", 1),
		"yes is a bool":        strings.Replace(base, "namespace: kube-system", "namespace: yes", 1),
		"number for a string":  strings.Replace(base, "namespace: kube-system", "namespace: 012", 1),
		"quoted plain":         strings.Replace(base, "server: https://a:6443", `server: "https://a:6443"`, 1),
		"single quotes":        strings.Replace(base, "server: https://a:6443", "server: 'https://a:6443'", 1),
		"anchor":               strings.Replace(base, "namespace: kube-system", "namespace: &x kube-system", 1),
		"extension in flow":    strings.Replace(codectest.MinikubeStyle, "        provider: minikube.sigs.k8s.io\n", "        provider: {a: b}\n", 1),
		"extension float":      strings.Replace(codectest.MinikubeStyle, "        version: v1.34.0\n", "        version: 1.10\n", 1),
		"extension key n":      strings.Replace(codectest.MinikubeStyle, "        provider: minikube.sigs.k8s.io\n", "        n: x\n        provider: minikube.sigs.k8s.io\n", 1),
		"unknown field":        strings.Replace(base, "    namespace: kube-system\n", "    namespace: kube-system\n    zzz: 1\n", 1),
		"no final newline":     strings.TrimSuffix(base, "\n"),
		"trailing space":       strings.Replace(base, "namespace: kube-system", "namespace: kube-system ", 1),
		"tab":                  strings.Replace(base, "namespace: kube-system", "namespace:\tkube-system", 1),
		"base64 not canonical": strings.Replace(base, "client-key-data: a2V5", "client-key-data: a2V=", 1),
		"pyyaml":               codectest.PyYAMLStyle,
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok := decodeFast([]byte(data)); ok {
				t.Fatalf("the line reader took a file not in kubectl's layout:\n%s", data)
			}
			want, werr := clientcmd.Load([]byte(data))
			got, gerr := decode([]byte(data))
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("clientcmd: %v; decode: %v", werr, gerr)
			}
			if werr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("decode differs from clientcmd.Load")
			}
		})
	}
}

// TestMinikubeStyleIsKubectlLayout keeps codectest.MinikubeStyle honest.
func TestMinikubeStyleIsKubectlLayout(t *testing.T) {
	cfg, err := clientcmd.Load([]byte(codectest.MinikubeStyle))
	if err != nil {
		t.Fatal(err)
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil || string(out) != codectest.MinikubeStyle {
		t.Fatalf("kubectl writes it otherwise (%v):\n%s", err, out)
	}
}

// TestEmitterKeyOrderIsGoYAMLs: map keys come out in go-yaml v2's order
// (digits compared as numbers, punctuation before letters), which kubectl's
// writer uses, so files with such keys stay on the fast path.
func TestEmitterKeyOrderIsGoYAMLs(t *testing.T) {
	keys := []string{"a10", "a9", "a-b", "aB", "ab", "a_b", "a", "b1c", "b01c", "b1", "Z", "k0", "k00", "k1"}
	m := map[string]string{}
	for _, k := range keys {
		m[k] = "v"
	}
	ours, err := emit(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	js := "{"
	for i, k := range keys {
		js += fmt.Sprintf("%s%q: \"v\"", map[bool]string{true: ", "}[i > 0], k)
	}
	theirs, err := yaml.JSONToYAML([]byte(js + "}"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, theirs) {
		t.Errorf("key order differs:\n--- ours\n%s--- go-yaml\n%s", ours, theirs)
	}
}

// FuzzFastPath: whatever the bytes, when the line reader's result is kept
// it is what clientcmd reads. `go test -fuzz FuzzFastPath` explores; the
// seeds run in every test run.
func FuzzFastPath(f *testing.F) {
	f.Add(codectest.KubectlLayout(f))
	f.Add(codectest.BigConfig(f, 3))
	f.Add([]byte(codectest.PyYAMLStyle))
	f.Add([]byte(codectest.Existing))
	f.Add([]byte(codectest.MinikubeStyle))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeFast(data)
		if !ok {
			return
		}
		full, err := decodeFull(data)
		if err != nil {
			t.Fatalf("the line reader kept a file the full path refuses (%v):\n%q", err, data)
		}
		if !reflect.DeepEqual(fast.V1(), full.V1()) {
			t.Fatalf("line reader and full path differ on\n%q\nfast %#v\nfull %#v", data, fast.V1(), full.V1())
		}
	})
}

// FuzzEmitter: whatever the strings, what the emitter writes is read back by
// the YAML reader kubectl uses as the same config — the property the fast
// path's byte check rests on — and the line reader takes it.
func FuzzEmitter(f *testing.F) {
	for _, s := range []string{"", "a: b", "yes", "N", "1e3", "007", "#x", "- y", "ünïcode", "tab\there", "x\ny\n", "x\n\ny", " lead", "trail ", "it's", "a'b: c", "\"q\"", "null", "~", "0x1F", "1:20", "2024-01-01", "-", "?", "*a", "&a", "!t", "%", "@", "`", "{a}", "[a]", "a #b", "\x01", "\u2028", "\xff"} {
		f.Add(s, s+"\n"+s)
	}
	f.Add(strings.Repeat("k", 200), "v")  // a key kubectl writes as "? key"
	f.Add(strings.Repeat("k", 1100), "v") // one too long to write on its line
	f.Fuzz(func(t *testing.T, s, multi string) {
		// Names and keys in valid UTF-8: kubectl's writer (JSON) turns
		// invalid bytes into U+FFFD, so two different invalid names would
		// become one. Values keep whatever bytes they have.
		name, other := strings.ToValidUTF8(s, "\ufffd"), strings.ToValidUTF8(multi, "\ufffd")
		cfg := clientcmdapi.NewConfig()
		cfg.CurrentContext = s
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: s, TLSServerName: multi, CertificateAuthorityData: []byte(s)}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{
			Exec:                 &clientcmdapi.ExecConfig{Command: s, Args: []string{s, multi}, Env: []clientcmdapi.ExecEnvVar{{Name: s, Value: multi}}, InstallHint: multi, APIVersion: "client.authentication.k8s.io/v1beta1", InteractiveMode: "Never"},
			AuthProvider:         &clientcmdapi.AuthProviderConfig{Name: s, Config: map[string]string{name: multi, other: s}},
			ImpersonateUserExtra: map[string][]string{name: {multi}},
		}
		cfg.Contexts[other] = &clientcmdapi.Context{Cluster: s, AuthInfo: multi, Namespace: s}
		out, err := encode(cfg, Layout{}, 0)
		if errors.Is(err, errLongKey) && len(s)+len(multi) > 300 {
			return // refused, not written wrong
		}
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeFull(out)
		if err != nil {
			t.Fatalf("kubectl's reader refuses the output (%v):\n%s", err, out)
		}
		again, err := ToAPI(back)
		if err != nil {
			t.Fatal(err)
		}
		want, err := encode(again, Layout{}, 0)
		if err != nil || !bytes.Equal(want, out) {
			t.Fatalf("read back differently:\n%s\n---\n%s", out, want)
		}
		// JSON replaces invalid UTF-8, as kubectl's writer does; compare
		// with what clientcmd itself makes of the same config.
		ref, err := clientcmd.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := decodeFast(out); !ok {
			t.Fatalf("the line reader declined the emitter's own output:\n%s", out)
		}
		got, err := decode(out)
		if err != nil || !reflect.DeepEqual(got, ref) {
			t.Fatalf("decode differs from clientcmd.Load (%v)", err)
		}
	})
}
