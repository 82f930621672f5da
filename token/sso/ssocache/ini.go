package ssocache

import (
	"bufio"
	"errors"
	"os"
	"strings"
)

// Section returns the key = value pairs of section [name] of an INI
// file the way the SDK reads them (names and values trimmed, # and ;
// comment lines, the last of repeated sections winning key by key).
func Section(path, name string) (map[string]string, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	kv := map[string]string{}
	found, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			sec := strings.Join(strings.Fields(line[1:len(line)-1]), " ")
			in = sec == name
			found = found || in
		case in:
			if k, v, ok := strings.Cut(line, "="); ok {
				kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return kv, found, sc.Err()
}

// SectionNames lists the section names of an INI file in order, spaces
// normalised; a missing file has none.
func SectionNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			out = append(out, strings.Join(strings.Fields(line[1:len(line)-1]), " "))
		}
	}
	return out, sc.Err()
}
