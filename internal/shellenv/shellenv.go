// Package shellenv writes environment assignments for the shell that will
// evaluate them (`eval "$(kubeiam use CTX --export)"`), quoted so that any
// value — spaces, quotes, dollar signs in a path — arrives unchanged.
package shellenv

import (
	"fmt"
	"strings"
)

// Kind is a family of shells sharing one assignment syntax.
type Kind string

const (
	POSIX      Kind = "posix" // sh, bash, zsh, dash, ksh
	Fish       Kind = "fish"
	PowerShell Kind = "powershell"
)

// Names are the accepted --shell values.
var Names = []string{"bash", "zsh", "sh", "fish", "powershell", "pwsh"}

// Parse maps a shell name or path (--shell, $SHELL) to its Kind.
func Parse(name string) (Kind, error) {
	// Either separator: a Windows path may be read on any system.
	base := name[strings.LastIndexAny(name, `/\`)+1:]
	base = strings.TrimSuffix(strings.ToLower(base), ".exe")
	switch base {
	case "bash", "zsh", "sh", "dash", "ksh", "mksh", "ash", "posix":
		return POSIX, nil
	case "fish":
		return Fish, nil
	case "powershell", "pwsh":
		return PowerShell, nil
	}
	return "", fmt.Errorf("unknown shell %q (known: %s)", name, strings.Join(Names, ", "))
}

// Detect picks the Kind from $SHELL; on Windows, where $SHELL is usually
// unset, PowerShell.
func Detect(shellEnv, goos string) (Kind, error) {
	if shellEnv == "" {
		if goos == "windows" {
			return PowerShell, nil
		}
		return "", fmt.Errorf("could not tell the shell: SHELL is not set")
	}
	return Parse(shellEnv)
}

// Var is one assignment.
type Var struct{ Name, Value string }

// Exports returns one line per variable in k's syntax.
func Exports(k Kind, vars ...Var) string {
	var b strings.Builder
	for _, v := range vars {
		switch k {
		case Fish:
			fmt.Fprintf(&b, "set -gx %s %s;\n", v.Name, fishQuote(v.Value))
		case PowerShell:
			fmt.Fprintf(&b, "$env:%s = %s\n", v.Name, psQuote(v.Value))
		default:
			fmt.Fprintf(&b, "export %s=%s;\n", v.Name, posixQuote(v.Value))
		}
	}
	return b.String()
}

// posixQuote: inside single quotes nothing is special but the quote itself,
// written as '\”.
func posixQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote: in fish's single quotes, \' and \\ are the only escapes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// psQuote: PowerShell's single-quoted strings double the quote (and treat
// the typographic quotes as quotes too).
func psQuote(s string) string {
	return "'" + strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b").Replace(s) + "'"
}
