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
// client-certificate-data, client-key-data): either the base64 text the
// file holds, not yet decoded, or bytes to be written, not yet encoded —
// whichever it was made from. Text is always canonical (what
// encoding/json, kubectl's writer, writes for the bytes it encodes), so
// writing it back as it is writes what encoding the bytes would. The zero
// value is an absent field.
type Base64 struct {
	// raw is the text (encoded) or the bytes; nil for an absent value,
	// empty for an empty one.
	raw     []byte
	encoded bool
}

var base64Type = reflect.TypeFor[Base64]()

// Base64Of holds data, to be encoded when written; nil stays absent. It
// shares data's memory, as a []byte field would.
func Base64Of(data []byte) Base64 { return Base64{raw: data} }

// parseBase64 reads t as encoding/json reads a []byte (the standard
// alphabet, padded, line breaks ignored): t itself, as text, when it is
// canonical, else the bytes it decodes to. It reports false when t does
// not decode.
func parseBase64(t []byte) (Base64, bool) {
	if len(t) == 0 {
		return Base64{raw: []byte{}}, true
	}
	if canonicalBase64(t) {
		// The capacity ends with the text: nothing can append into the
		// input it may share memory with.
		return Base64{raw: t[:len(t):len(t)], encoded: true}, true
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
	n, err := base64.StdEncoding.Decode(b, t)
	if err != nil {
		return Base64{}, false
	}
	return Base64{raw: b[:n]}, true
}

// Bytes is the data: nil when absent, empty (not nil) when empty, as
// encoding/json would have filled a []byte. Text is decoded into fresh
// memory on each call; bytes are returned as they are.
func (b Base64) Bytes() []byte {
	if !b.encoded {
		return b.raw
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b.raw)))
	// Canonical by construction: it decodes.
	n, _ := base64.StdEncoding.Decode(out, b.raw)
	return out[:n]
}

// IsZero says the field is left out when written (omitempty for a []byte:
// absent or empty).
func (b Base64) IsZero() bool { return len(b.raw) == 0 }

// plainText says b is text the emitter writes plain, as it stands: longer
// than any YAML word and starting with a letter or '/' (every base64
// character is plain-safe). Else it goes through the emitter's base64.
func (b Base64) plainText() bool {
	t := b.raw
	return b.encoded && len(t) > len("false") && (t[0] >= 'a' && t[0] <= 'z' || t[0] >= 'A' && t[0] <= 'Z' || t[0] == '/')
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
