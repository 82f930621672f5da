package kubeconfig

import (
	"regexp"
	"strings"
	"testing"
)

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "DB_PASSWORD": true, "API_KEY": true,
		"id-token": true, "refresh-token": true, "client-secret": true, "GITHUB_CREDENTIALS": true,
		"AWS_ACCESS_KEY_ID": false, "client-id": false, "AWS_PROFILE": false, "AWS_REGION": false, "idp-issuer-url": false,
	} {
		if got := secretName(name); got != want {
			t.Errorf("secretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// Redact finds secrets however the file spells them: JSON, flow mappings,
// quotes with escapes, block scalars, anchors; and keeps every other byte.
func TestRedactFindsSecretsInAnySpelling(t *testing.T) {
	cases := map[string]struct{ in, keep string }{
		"json":             {`{"apiVersion":"v1","kind":"Config","users":[{"name":"a","user":{"token":"s3cr3t-one","username":"u"}}]}`, `,"username":"u"}}]}`},
		"escaped":          {"users:\n- name: a\n  user:\n    token: \"s3cr3t\\u002done\"\n    username: u\n", "\n    username: u\n"},
		"folded":           {"users:\n- name: a\n  user:\n    password: >-\n      s3cr3t\n      one\n    username: u\n", "\n    username: u\n"},
		"plain multi-line": {"users:\n- name: a\n  user:\n    token: s3cr3t\n      -one\n    username: u\n", "\n    username: u\n"},
		"anchor":           {"x-shared: &t s3cr3t-one\nusers:\n- name: a\n  user:\n    token: *t\n    username: u\n", "    token: *t\n"},
		"comment":          {"users:\n- name: a\n  user:\n    token: s3cr3t-one # my token\n    username: u\n", " # my token\n    username: u\n"},
		"env flow":         {"users:\n- name: a\n  user:\n    exec: {command: x, env: [{name: MY_TOKEN, value: s3cr3t-one}, {name: MODE, value: plain}]}\n", "}, {name: MODE, value: plain}]}\n"},
	}
	for name, c := range cases {
		in := c.in
		t.Run(name, func(t *testing.T) {
			out := string(Redact([]byte(in)))
			if strings.Contains(out, "s3cr3t") {
				t.Errorf("secret left in:\n%s", out)
			}
			if !regexp.MustCompile(`(REDACTED|DATA\+OMITTED)-[0-9a-f]{8}`).MatchString(out) {
				t.Errorf("no marker:\n%s", out)
			}
			if !strings.Contains(out, c.keep) {
				t.Errorf("other content lost (want %q):\n%s", c.keep, out)
			}
		})
	}
	if out := Redact([]byte("users: [\n")); strings.Contains(string(out), "users") {
		t.Errorf("unparseable input shown: %s", out)
	}
}
