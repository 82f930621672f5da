package kubeconfig

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"testing"
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
		want := err == nil && len(text) > 0 && bytes.Equal([]byte(base64.StdEncoding.EncodeToString(out[:n])), text)
		if got := canonicalBase64(text); got != want {
			t.Fatalf("canonicalBase64(%q) = %t, want %t", text, got, want)
		}
	})
}

// TestBlobsDecodeToWhatTheReaderGives: a file read with blobs, once they
// are decoded, is what the line reader gives without them, and written
// with them it is the file again.
func TestBlobsDecodeToWhatTheReaderGives(t *testing.T) {
	for name, data := range map[string][]byte{
		"kubectl layout": kubectlLayout(t),
		"1,000 contexts": bigConfig(t, 1000),
	} {
		t.Run(name, func(t *testing.T) {
			v1, bl, err := decodeV1Blobs(data)
			if err != nil || bl == nil || len(bl.text) == 0 {
				t.Fatalf("no blobs read (%v)", err)
			}
			out, err := emitBlobs(v1, bl, layoutOf(data), 0)
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("written with blobs (%v):\n%s", err, out)
			}
			want, ok := decodeFast(data)
			if !ok {
				t.Fatal("the line reader declined the file")
			}
			bl.decode(reflect.ValueOf(v1))
			if !reflect.DeepEqual(v1, want) {
				t.Fatalf("decoded blobs differ from the reader's values")
			}
		})
	}
}
