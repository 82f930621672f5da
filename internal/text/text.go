// Package text holds the small wording helpers that messages in several
// packages share.
package text

// Plural is one when n is 1, else many: "1 entry", "2 entries".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
