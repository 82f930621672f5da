package ssocache

import (
	"strings"
	"testing"
)

const handMade = "# top   \n[default]\nregion = us-east-1  \ns3 =\n  max_concurrent_requests = 20\n\n" +
	"; about prod\n[profile prod]\nsso_session = corp\r\noutput = json"

// Set then Remove of a new section gives back the file byte for byte, and
// Set of an existing section touches only the lines of the keys it changes.
func TestDocRoundTrip(t *testing.T) {
	d := ParseDoc([]byte(handMade))
	if got := string(d.Bytes()); got != handMade {
		t.Fatalf("parse/print changed the file:\n%q", got)
	}
	d.Set("profile new", []KV{{"sso_session", "corp"}, {"sso_account_id", "111122223333"}})
	want := handMade + "\n\n[profile new]\nsso_session = corp\nsso_account_id = 111122223333\n"
	if got := string(d.Bytes()); got != want {
		t.Fatalf("after Set:\n%q\nwant\n%q", got, want)
	}
	d.Set("profile new", []KV{{"sso_account_id", "111122223333"}, {"region", "eu-west-1"}})
	if got := string(d.Bytes()); got != want+"region = eu-west-1\n" {
		t.Fatalf("after a second Set:\n%q", got)
	}
	if !d.Remove("profile new") {
		t.Fatal("Remove found nothing")
	}
	if got := string(d.Bytes()); got != handMade+"\n" {
		t.Fatalf("after Remove:\n%q", got)
	}
	// A key of a hand-made section: only its line changes, CRLF kept.
	d = ParseDoc([]byte(handMade))
	d.Set("profile prod", []KV{{"sso_session", "other"}})
	if got := string(d.Bytes()); got != strings.Replace(handMade, "sso_session = corp\r\n", "sso_session = other\r\n", 1) {
		t.Fatalf("in-place key change:\n%q", got)
	}
	// Nested lines are not keys of the section; the comment before a
	// header belongs to the next section.
	kv, _ := ParseDoc([]byte(handMade)).Keys("default")
	if _, ok := kv["max_concurrent_requests"]; ok || kv["s3"] != "" || kv["region"] != "us-east-1" {
		t.Fatalf("keys of [default]: %v", kv)
	}
	d = ParseDoc([]byte(handMade))
	d.Remove("default")
	if got := string(d.Bytes()); got != "# top   \n; about prod\n[profile prod]\nsso_session = corp\r\noutput = json" {
		t.Fatalf("after removing [default]:\n%q", got)
	}
}
