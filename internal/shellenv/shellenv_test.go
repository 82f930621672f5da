package shellenv

import (
	"os/exec"
	"testing"
)

// Values a path or context name may hold; each must reach the shell intact.
var nasty = []string{"plain", "it's", `a"b`, "$HOME `id` $(id)", `back\slash`, "sp ace;|&", "ünï"}

func TestPOSIXRoundTrip(t *testing.T) {
	for _, sh := range []string{"sh", "bash", "zsh"} {
		if _, err := exec.LookPath(sh); err != nil {
			continue
		}
		for _, v := range nasty {
			script := Exports(POSIX, Var{"X", v}) + `printf %s "$X"`
			out, err := exec.Command(sh, "-c", script).Output()
			if err != nil || string(out) != v {
				t.Errorf("%s: %q came back as %q (%v)", sh, v, out, err)
			}
		}
	}
}

func TestForms(t *testing.T) {
	for _, tc := range []struct {
		k    Kind
		v    string
		want string
	}{
		{POSIX, "it's", "export X='it'\\''s';\n"},
		{Fish, `it's a\b`, `set -gx X 'it\'s a\\b';` + "\n"},
		{PowerShell, "it's $x", "$env:X = 'it''s $x'\n"},
	} {
		if got := Exports(tc.k, Var{"X", tc.v}); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.k, got, tc.want)
		}
	}
	if _, err := exec.LookPath("fish"); err == nil {
		for _, v := range nasty {
			out, err := exec.Command("fish", "-c", Exports(Fish, Var{"X", v})+`printf %s "$X"`).Output()
			if err != nil || string(out) != v {
				t.Errorf("fish: %q came back as %q (%v)", v, out, err)
			}
		}
	}
}

func TestDetect(t *testing.T) {
	for in, want := range map[string]Kind{"/bin/bash": POSIX, "/usr/bin/zsh": POSIX, "/opt/homebrew/bin/fish": Fish, `C:\pwsh.exe`: PowerShell} {
		if got, err := Detect(in, "linux"); err != nil || got != want {
			t.Errorf("Detect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if k, err := Detect("", "windows"); err != nil || k != PowerShell {
		t.Errorf("windows default: %q %v", k, err)
	}
	if _, err := Detect("", "linux"); err == nil {
		t.Error("no SHELL on linux: want an error")
	}
	if _, err := Parse("tcsh"); err == nil {
		t.Error("tcsh: want an error")
	}
}
