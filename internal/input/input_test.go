package input

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestText(t *testing.T) {
	for _, ok := range []string{"", "prod-admins", "team/profile@x", "prüfung", "日本", "a b"} {
		if err := Text("--profile", ok); err != nil {
			t.Errorf("Text(%q) = %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"prod\nadmin":                   `invalid --profile "prod\nadmin": contains a line break (U+000A)`,
		"prod\r":                        "a line break (U+000D)",
		"a\x00b":                        "a control character (U+0000)",
		"a\tb":                          "a control character (U+0009)",
		"a\x1b[2Jb":                     "a control character (U+001B)",
		"a\x7fb":                        "a control character (U+007F)",
		"a\u0085b":                      "a line break (U+0085)",
		"a\u009bb":                      "a control character (U+009B)",
		"a\u2028b":                      `"a\u2028b": contains a line break (U+2028)`,
		"a\u2029b":                      "a line break (U+2029)",
		"a\u202eb":                      "a bidirectional text control (U+202E)",
		"a\u2066b":                      "a bidirectional text control (U+2066)",
		"a\xffb":                        "not valid UTF-8",
		strings.Repeat("x", 200) + "\n": "…: contains a line break",
	} {
		err := Text("--profile", in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Text(%q) = %v, want %q", in, err, want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r\u2028") {
			t.Errorf("the error itself carries the line break: %q", err)
		}
	}
}

func TestCheckFlags(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("profile", "", "")
	fs.StringArray("env", nil, "")
	fs.StringSlice("group", nil, "")
	fs.String("query", "", "")
	fs.Bool("merge", false, "")
	_ = fs.SetAnnotation("query", FreeText, []string{"true"})
	if err := fs.Parse([]string{"--profile=p", "--env=A=1", "--group=a,b", "--query", ".a |\n .b", "--merge"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckFlags(fs); err != nil {
		t.Fatalf("clean flags refused: %v", err)
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--env=A=1", "--env=B=x\ny"}, "--env"},
		{[]string{"--group=a,b\x00"}, "--group"},
		{[]string{"--profile=x\ry"}, "--profile"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.String("profile", "", "")
		fs.StringArray("env", nil, "")
		fs.StringSlice("group", nil, "")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		err := CheckFlags(fs)
		if err == nil || !strings.HasPrefix(err.Error(), "invalid "+tc.flag+" ") {
			t.Errorf("%q: %v, want an error naming %s", tc.args, err, tc.flag)
		}
	}
}

// Env values and tokens may be secrets: the error names the variable or
// flag and never shows the value.
func TestSecretsStayOut(t *testing.T) {
	err := Env("--env", "AWS_SECRET_ACCESS_KEY=wJalr\nXUtnFEMI")
	if err == nil || err.Error() != `invalid --env "AWS_SECRET_ACCESS_KEY" (value not shown): contains a line break (U+000A)` {
		t.Errorf("Env: %v", err)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("token", "", "")
	if err := fs.Parse([]string{"--token=k8s-aws-v1.secret\x00"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckFlags(fs); err == nil || strings.Contains(err.Error(), "secret") || !strings.HasPrefix(err.Error(), "invalid --token (value not shown)") {
		t.Errorf("CheckFlags: %v", err)
	}
}
