// Package text holds the small wording helpers that messages in several
// packages share.
package text

import "strings"

// Plural is one when n is 1, else many: "1 entry", "2 entries".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// OneLine folds s onto one line: runs of white space, line breaks included,
// become one space, for quoting another program's output in a message.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
