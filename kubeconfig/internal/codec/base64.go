package codec

import (
	"encoding/base64"
	"reflect"
)

// Why Base64: most of a large kubeconfig is base64 certificate and key
// data, which clientcmd's v1 types hold decoded, in []byte. A merge that
// writes the file back leaves all but its own entries as they were, so
// decoding each certificate on the way in and encoding it again on the way
// out is work (and, in a short-lived process, fresh memory: page faults)
// for nothing. The codec's own types hold such a value as the text it was
// read as instead (in the input's own memory where the line reader read
// it), and the emitter writes that text back as it is. Bytes decodes it
// for anything that needs the data.

// Base64 is a value of a *-data field (certificate-authority-data,
// client-certificate-data, client-key-data) as base64 text, not yet
// decoded. The text is always canonical: what encoding/json (kubectl's
// writer) writes for the bytes it encodes, so writing it back as it is
// writes what encoding the bytes would. The zero value is an absent field.
type Base64 struct {
	// text is nil for an absent value, empty for an empty one.
	text []byte
}

var base64Type = reflect.TypeFor[Base64]()

// Base64Of encodes data; nil stays absent.
func Base64Of(data []byte) Base64 {
	if data == nil {
		return Base64{}
	}
	t := make([]byte, base64.StdEncoding.EncodedLen(len(data)))
	base64.StdEncoding.Encode(t, data)
	return Base64{text: t}
}

// parseBase64 reads t as encoding/json reads a []byte (the standard
// alphabet, padded, line breaks ignored): t itself when it is canonical,
// else the canonical text of what it decodes to. It reports false when t
// does not decode.
func parseBase64(t []byte) (Base64, bool) {
	if len(t) == 0 {
		return Base64{text: []byte{}}, true
	}
	if canonicalBase64(t) {
		// The capacity ends with the text: nothing can append into the
		// input it may share memory with.
		return Base64{text: t[:len(t):len(t)]}, true
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
	n, err := base64.StdEncoding.Decode(b, t)
	if err != nil {
		return Base64{}, false
	}
	return Base64Of(b[:n]), true
}

// Bytes decodes the value: nil when absent, empty (not nil) when empty,
// as encoding/json would have filled a []byte.
func (b Base64) Bytes() []byte {
	if b.text == nil {
		return nil
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b.text)))
	// Canonical by construction: it decodes.
	n, _ := base64.StdEncoding.Decode(out, b.text)
	return out[:n]
}

// IsZero says the field is left out when written (omitempty for a []byte:
// absent or empty).
func (b Base64) IsZero() bool { return len(b.text) == 0 }

// plain says the emitter writes the text plain, as it stands: longer than
// any YAML word and starting with a letter or '/' (every base64 character
// is plain-safe).
func (b Base64) plain() bool {
	t := b.text
	return len(t) > len("false") && (t[0] >= 'a' && t[0] <= 'z' || t[0] >= 'A' && t[0] <= 'Z' || t[0] == '/')
}

// base64Value is the value of each character of the standard base64
// alphabet, -1 for the others.
var base64Value = func() (t [256]int8) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = -1
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// canonicalBase64 says t is what the standard encoding (padded) writes for
// some bytes: t decodes, and encoding the result gives t again. That is,
// whole groups of four characters of the alphabet, the last ending in at
// most two '=', and no bits set in the last character beyond those the
// bytes use. The empty text is canonical (no bytes).
func canonicalBase64(t []byte) bool {
	if len(t) == 0 {
		return true
	}
	if len(t)%4 != 0 {
		return false
	}
	body := t
	for range 2 {
		if body[len(body)-1] == '=' {
			body = body[:len(body)-1]
		}
	}
	for _, c := range body {
		if base64Value[c] < 0 {
			return false
		}
	}
	last := base64Value[body[len(body)-1]]
	switch len(t) - len(body) {
	case 1: // 2 bytes in the last group: 16 of its 18 bits
		return last&0x3 == 0
	case 2: // 1 byte: 8 of 12 bits
		return last&0xf == 0
	}
	return true
}
