package jsonstr

import (
	"encoding/json"
	"testing"
)

func check(t *testing.T, s string) {
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := Append([]byte("x"), s); string(got) != "x"+string(want) {
		t.Errorf("Append(%q) = %s, encoding/json %s", s, got[1:], want)
	}
}

func TestAppendIsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `a"b\c`, "<script>&</script>", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
		"\u2028\u2029", "é€😀", "\xff", "a\xc3", "\xed\xa0\x80", "k8s-aws-v1.aHR0cHM6Ly9zdHM", "arn:aws:iam::111122223333:role/Kube+Admin=,.@-_"} {
		check(t, s)
	}
	for b := 0; b < 256; b++ {
		check(t, string(rune(b)))
		check(t, "a"+string([]byte{byte(b)})+"z")
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("us-east-1")
	f.Add("<\u2028\xff\"")
	f.Fuzz(check)
}
