package kubeconfig

import (
	"encoding/base64"
	"reflect"
)

// Why blobs: most of a large kubeconfig is base64 certificate data, which a
// []byte field holds decoded. A merge that writes the file back leaves all
// but its own entries as they were, so decoding each certificate on the way
// in and encoding it again on the way out is work (and, in a short-lived
// process, fresh memory: page faults) for nothing. The line reader can
// instead leave such a value as the text it was read as, in the input's
// own memory; the emitter writes that text back as it is.
//
// That is only right where the text is exactly what the emitter would
// write for the decoded bytes: canonical base64 (see canonicalBase64),
// written plain (see plainBase64). And every user of the values other than
// the emitter needs them decoded: decode puts the real bytes in place.

// blobs are the []byte values a line reader left as their base64 text,
// by the address and length of that text.
type blobs struct {
	text map[*byte]int
}

// has says b is one of the values left as text.
func (bl *blobs) has(b []byte) bool {
	if bl == nil || len(b) == 0 {
		return false
	}
	n, ok := bl.text[&b[0]]
	return ok && n == len(b)
}

// add leaves t as the value of v, a []byte, when the emitter would write
// the bytes it encodes as t itself; it reports whether it did.
func (bl *blobs) add(v reflect.Value, t []byte) bool {
	if v.Type() != bytesType || !plainBase64(t) || !canonicalBase64(t) {
		return false
	}
	if bl.text == nil {
		bl.text = map[*byte]int{}
	}
	// The capacity ends with the text: nothing can append into the input.
	v.SetBytes(t[:len(t):len(t)])
	bl.text[&t[0]] = len(t)
	return true
}

var bytesType = reflect.TypeFor[[]byte]()

// decode replaces every value of v (a pointer to what the line reader
// filled) left as text with its bytes, so that v is what a reader without
// blobs gives.
func (bl *blobs) decode(v reflect.Value) {
	if bl == nil || len(bl.text) == 0 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			bl.decode(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				bl.decode(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == bytesType {
			if b := v.Bytes(); bl.has(b) {
				// Checked canonical when it was added: it decodes.
				out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
				n, _ := base64.StdEncoding.Decode(out, b)
				v.SetBytes(out[:n])
			}
			return
		}
		for i := range v.Len() {
			bl.decode(v.Index(i))
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			// Map values cannot be changed in place: decode a copy.
			c := reflect.New(v.Type().Elem()).Elem()
			c.Set(it.Value())
			bl.decode(c)
			v.SetMapIndex(it.Key(), c)
		}
	}
}

// plainBase64 says the emitter writes base64 text t plain, as it stands
// (see emitter.base64).
func plainBase64(t []byte) bool {
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
// bytes use.
func canonicalBase64(t []byte) bool {
	if len(t) == 0 || len(t)%4 != 0 {
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
