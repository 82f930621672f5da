package ssocache

import (
	"bytes"
	"strings"
)

// Doc is an AWS config file held as its lines, for edits that leave every
// byte outside the sections they touch as it was: comments, blank lines,
// trailing spaces, nested `s3 =` blocks, the order of sections and of keys.
// It edits the way the AWS CLI's configure writer does — key lines replaced
// in place, new keys after a section's last key, new sections appended —
// rather than re-serialising the file through an INI library, which loses
// all of that.
type Doc struct {
	// lines keep their line terminators; the last may have none.
	lines []string
}

// KV is one key = value line.
type KV struct{ Key, Value string }

// ParseDoc splits the bytes of a config file into lines.
func ParseDoc(b []byte) *Doc {
	d := &Doc{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			d.lines = append(d.lines, string(b))
			break
		}
		d.lines = append(d.lines, string(b[:i+1]))
		b = b[i+1:]
	}
	return d
}

// Bytes is the file's content.
func (d *Doc) Bytes() []byte { return []byte(strings.Join(d.lines, "")) }

// headerName is the normalised section name of a header line, as Section
// reads it; ok is false for any other line.
func headerName(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if len(t) < 2 || t[0] != '[' || !strings.HasSuffix(t, "]") {
		return "", false
	}
	return strings.Join(strings.Fields(t[1:len(t)-1]), " "), true
}

// keyOf is the key of a `key = value` line at the section's top level; ok
// is false for comments, blank lines and the indented lines of a nested
// block (`s3 =` followed by indented settings).
func keyOf(line string) (key, value string, ok bool) {
	if line == "" || line[0] == ' ' || line[0] == '\t' {
		return "", "", false
	}
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' || t[0] == ';' || t[0] == '[' {
		return "", "", false
	}
	k, v, found := strings.Cut(t, "=")
	if !found {
		return "", "", false
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), true
}

// Span is one section: the header at line Start and the lines that belong
// to it up to End (exclusive). Blank and comment lines just before the next
// header are left out: they usually speak of the section that follows.
type Span struct {
	Name       string
	Start, End int
}

// Sections lists the sections in file order.
func (d *Doc) Sections() []Span {
	var out []Span
	for i, l := range d.lines {
		if name, ok := headerName(l); ok {
			out = append(out, Span{Name: name, Start: i})
		}
	}
	for i := range out {
		end := len(d.lines)
		if i+1 < len(out) {
			end = out[i+1].Start
		}
		for end > out[i].Start+1 {
			t := strings.TrimSpace(d.lines[end-1])
			if t != "" && t[0] != '#' && t[0] != ';' {
				break
			}
			end--
		}
		out[i].End = end
	}
	return out
}

// find returns the last section called name (the SDK lets the last win).
func (d *Doc) find(name string) (Span, bool) {
	var sp Span
	found := false
	for _, s := range d.Sections() {
		if s.Name == name {
			sp, found = s, true
		}
	}
	return sp, found
}

// Keys returns the top-level keys of section name; found is false when the
// file has no such section.
func (d *Doc) Keys(name string) (kv map[string]string, found bool) {
	sp, found := d.find(name)
	if !found {
		return nil, false
	}
	kv = map[string]string{}
	for _, l := range d.lines[sp.Start+1 : sp.End] {
		if k, v, ok := keyOf(l); ok {
			kv[k] = v
		}
	}
	return kv, true
}

// Set makes section name hold each of kvs: a key line that exists is
// rewritten only when its value differs, a missing key goes after the
// section's last line, and a missing section is appended at the end of the
// file after a blank line. Other keys of the section stay.
func (d *Doc) Set(name string, kvs []KV) {
	sp, found := d.find(name)
	if !found {
		d.ensureNewline()
		if len(d.lines) > 0 && strings.TrimSpace(d.lines[len(d.lines)-1]) != "" {
			d.lines = append(d.lines, "\n")
		}
		d.lines = append(d.lines, "["+name+"]\n")
		for _, kv := range kvs {
			d.lines = append(d.lines, kv.Key+" = "+kv.Value+"\n")
		}
		return
	}
	end := sp.End
	for _, kv := range kvs {
		at := -1
		for i := sp.Start + 1; i < end; i++ {
			if k, _, ok := keyOf(d.lines[i]); ok && k == kv.Key {
				at = i
			}
		}
		if at >= 0 {
			if _, v, _ := keyOf(d.lines[at]); v != kv.Value {
				d.lines[at] = kv.Key + " = " + kv.Value + eol(d.lines[at])
			}
			continue
		}
		if end > 0 && !strings.HasSuffix(d.lines[end-1], "\n") {
			d.lines[end-1] += "\n"
		}
		d.lines = append(d.lines[:end], append([]string{kv.Key + " = " + kv.Value + "\n"}, d.lines[end:]...)...)
		end++
	}
}

// Remove deletes the last section called name and one blank line after it,
// so that removing what Set appended leaves the file as it was.
func (d *Doc) Remove(name string) bool {
	sp, found := d.find(name)
	if !found {
		return false
	}
	end := sp.End
	if end < len(d.lines) && strings.TrimSpace(d.lines[end]) == "" {
		end++
	} else if end == len(d.lines) && sp.Start > 0 && strings.TrimSpace(d.lines[sp.Start-1]) == "" {
		// The last section: take the blank line before it instead.
		sp.Start--
	}
	d.lines = append(d.lines[:sp.Start], d.lines[end:]...)
	return true
}

func (d *Doc) ensureNewline() {
	if n := len(d.lines); n > 0 && !strings.HasSuffix(d.lines[n-1], "\n") {
		d.lines[n-1] += "\n"
	}
}

func eol(line string) string {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(line, "\n"):
		return "\n"
	}
	return ""
}
