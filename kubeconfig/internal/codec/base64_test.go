package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/kubeiam/kubeiam/kubeconfig/internal/codec/codectest"
)

// FuzzCanonicalBase64: canonicalBase64 holds exactly for the text that
// decodes and encodes back to itself, the condition for writing a blob
// back as it was read.
func FuzzCanonicalBase64(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QR==", "QUI=", "QUJ=", "QUJD", "QUJDRA==", "QUJDRB==", "Q===", "====", "QUJ\r", "QU=D", "QUJDRA=A", "////", "+/+/", "QUJD\nRA==", "YWJj ZA=="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		out := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
		n, err := base64.StdEncoding.Decode(out, text)
		want := err == nil && bytes.Equal([]byte(base64.StdEncoding.EncodeToString(out[:n])), text)
		if got := canonicalBase64(text); got != want {
			t.Fatalf("canonicalBase64(%q) = %t, want %t", text, got, want)
		}
	})
}

// TestBase64KeepsTheText: the line reader leaves the data of a file in
// kubectl's layout as its text, in the input's own memory; written, it is
// the file again; decoded, it is what clientcmd's reader gives.
func TestBase64KeepsTheText(t *testing.T) {
	for name, data := range map[string][]byte{
		"kubectl layout": codectest.KubectlLayout(t),
		"1,000 contexts": codectest.BigConfig(t, 1000),
	} {
		t.Run(name, func(t *testing.T) {
			c, ok := decodeFast(data)
			if !ok {
				t.Fatal("the line reader declined the file")
			}
			ca := c.Clusters[0].Cluster.CertificateAuthorityData
			if !ca.encoded || len(ca.raw) == 0 || !inside(ca.raw, data) {
				t.Fatalf("the CA data is not the input's text: %+v", ca)
			}
			out, err := EncodeBytes(c, LayoutOf(data), 0)
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("written again (%v):\n%s", err, out)
			}
			want, err := decodeFullV1(data)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.V1(); !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded data differs from clientcmd's reader")
			}
		})
	}
}

// inside says b is a part of the memory of data.
func inside(b, data []byte) bool {
	p, start := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&data[0]))
	return p >= start && p+uintptr(len(b)) <= start+uintptr(len(data))
}

// FuzzParseBase64: parseBase64 accepts what encoding/json accepts
// for a []byte, to the same bytes, and always holds canonical text.
func FuzzParseBase64(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QR==", "QUJD", "QUJDRA==", "Q===", "QUJD\nRA==", "QUJD\r\nRA==", "YWJj ZA==", "null", "////"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		js, _ := json.Marshal(string(text))
		var want []byte
		werr := json.Unmarshal(js, &want)
		if !utf8.Valid(text) {
			return // JSON would have replaced bytes
		}
		got, ok := parseBase64(text)
		if ok != (werr == nil) {
			t.Fatalf("parseBase64(%q) ok %t; encoding/json: %v", text, ok, werr)
		}
		if !ok {
			return
		}
		if !bytes.Equal(got.Bytes(), want) || got.encoded && !canonicalBase64(got.raw) {
			t.Fatalf("parseBase64(%q) = %+v (%q), want %q", text, got, got.Bytes(), want)
		}
	})
}
