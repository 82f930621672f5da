// Package codec reads and writes kubeconfig files: Decode and Encode, on
// its own Config (clientcmd's v1 shape, with certificate and key data kept
// as Base64 text until something needs the bytes), and ToAPI and FromAPI
// to clientcmd's internal types, exactly as clientcmd.Load and
// clientcmd.Write convert.
//
// Why a codec of our own: clientcmd.Load and clientcmd.Write push every
// byte through go-yaml's character-at-a-time scanner and emitter, twice
// (YAML to JSON to objects and back). On a kubeconfig of 1,000 clusters,
// which is mostly base64 CA data, that is ~0.7 s — kubectl's own `config
// set-context` takes 1–3 s on such a file. Decode and Encode produce the
// same objects and an equivalent file (the tests compare them with
// clientcmd's on the same inputs; kubeconfig's corpus test holds the
// outputs byte for byte) in a small fraction of that:
//
//   - Encode writes block YAML straight from the typed structs (emit.go),
//     in the layout kubectl writes (go-yaml's key order, sequences at the
//     parent key's indent, its quoting);
//   - Decode first tries a line reader for exactly that layout (read.go),
//     and keeps its result only if emitting it gives the input back byte
//     for byte — so it is right whenever the emitter is, and any other file
//     (or anything the reader misreads) takes the full path;
//   - the full path is clientcmd's own: YAML to JSON to the v1 types. (It
//     used to lift long base64 values out of the text before go-yaml saw
//     it; with the line reader taking kubectl's layout that bought ~10% of
//     a path few files take, for more memory: gone.)
package codec

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Decode reads a kubeconfig file, YAML or JSON, into the codec's types;
// empty input is nil. The result is what clientcmd.Load reads (through
// ToAPI), with the data fields as Base64.
func Decode(data []byte) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	// A file in kubectl's layout (what kubectl and kubeiam write) is read
	// without a YAML library; anything else, or anything the line reader
	// gets wrong, takes the full path.
	if c, ok := decodeFast(data); ok {
		return c, nil
	}
	return decodeFull(data)
}

// decodeFast reads data with the line reader, and keeps the result only
// when emitting it gives data back byte for byte.
func decodeFast(data []byte) (*Config, bool) {
	var c Config
	if !readLines(data, &c) || !emitsAs(&c, data, LayoutOf(data).keep()...) {
		return nil, false
	}
	return &c, true
}

// decodeFull reads any YAML (or JSON) kubeconfig as clientcmd does: into
// its v1 types, by way of JSON.
func decodeFull(data []byte) (*Config, error) {
	v1, err := decodeFullV1(data)
	if err != nil {
		return nil, err
	}
	return FromV1(v1), nil
}

func decodeFullV1(data []byte) (*clientcmdv1.Config, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var v1 clientcmdv1.Config
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &v1); err != nil {
		return nil, err
	}
	return &v1, nil
}

// Encode writes c in kubectl's layout (keeping what l says the file's
// writer chose) to sink, in pieces, and stops when sink returns false.
func Encode(c *Config, l Layout, sink func([]byte) bool) error {
	return emitTo(c, sink, l.keep()...)
}

// EncodeBytes is Encode into one piece; size is the expected length (the
// previous file's), when known.
func EncodeBytes(c *Config, l Layout, size int) ([]byte, error) {
	return emit(c, size, l.keep()...)
}

// Layout is what a file's writer chose where kubectl versions differ, so
// that an edit keeps it and an edit that changes nothing changes no byte.
type Layout struct {
	// emptyPreferences: kubectl before 1.34 writes "preferences: {}";
	// later ones (client-go's omitzero) leave it out.
	emptyPreferences bool
}

// LayoutOf is the layout of the file data.
func LayoutOf(data []byte) Layout {
	// At column 0 this can only be the top-level key: lines of a block
	// scalar are indented.
	return Layout{emptyPreferences: bytes.HasPrefix(data, []byte("preferences: {}\n")) ||
		bytes.Contains(data, []byte("\npreferences: {}\n"))}
}

func (l Layout) keep() []string {
	if l.emptyPreferences {
		return []string{"preferences"}
	}
	return nil
}

var yamlWords = map[string]bool{
	"y": true, "yes": true, "n": true, "no": true, "true": true, "false": true,
	"on": true, "off": true, "null": true, "~": true,
}

func plainSafe(s string) bool {
	// The longest YAML 1.1 word is "false": no lowering of long values
	// (certificate data runs to kilobytes).
	if s == "" || len(s) <= len("false") && yamlWords[strings.ToLower(s)] {
		return false
	}
	if isUUID(s) {
		// Cluster IDs: 8-4-4-4-12 hex is never a YAML number or timestamp,
		// and asking the parser for each of a thousand of them is slow.
		return true
	}
	c := s[0]
	ambiguous := false
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '/':
	case c == '-' && len(s) > 1 && s[1] != ' ':
		ambiguous = s[1] >= '0' && s[1] <= '9' || s[1] == '.'
	case c >= '0' && c <= '9', c == '.', c == '+':
		// Numbers, timestamps and YAML 1.1 sexagesimals start this way.
		ambiguous = true
	default:
		return false
	}
	if s[len(s)-1] == ':' || s[len(s)-1] == ' ' || strings.HasPrefix(s, "---") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case plainByte[c]:
		case c == ':' && i+1 < len(s) && s[i+1] != ' ':
		case c == ' ' && i+1 < len(s) && s[i+1] != '#' && s[i+1] != ' ':
		default:
			return false
		}
	}
	if ambiguous {
		// Ask the parser kubectl uses (a UUID is a string, 1e3 is not).
		js, err := yaml.YAMLToJSON([]byte(s))
		want, _ := json.Marshal(s)
		return err == nil && bytes.Equal(bytes.TrimSpace(js), want)
	}
	return true
}

// plainByte marks the bytes a plain scalar may hold anywhere.
var plainByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_./@%+=,~-", byte(c)) >= 0
	}
	return t
}()

func literalSafe(s string) bool {
	if !strings.Contains(s, "\n") || strings.HasSuffix(s, "\n\n") || strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") {
		return false
	}
	for _, r := range s {
		if r != '\n' && !yamlPrintable(r) {
			return false
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasSuffix(line, " ") {
			return false
		}
	}
	return true
}

// yamlPrintable: r may stand as itself in a YAML scalar and is no line
// break (YAML 1.1 reads NEL, U+2028 and U+2029 as breaks). Invalid UTF-8
// arrives as utf8.RuneError and is refused: YAML files are Unicode.
func yamlPrintable(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == utf8.RuneError || r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return false
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
