// Package suggest finds the names a mistyped one was probably meant to be,
// for "did you mean" lines. It has no dependencies, so the front links it.
package suggest

import (
	"sort"
	"strings"
)

// Distance is the Levenshtein distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Close returns up to max of the candidates nearest to name, in candidate
// order: of those that contain it or that it contains, ignoring case (which
// count as distance 1), and those within an edit distance of a third of its
// length (at least 2), the ones at the smallest distance. A typo, a missing suffix ("prod" for "prod-aws") and a case slip
// are found; unrelated names are not.
func Close(name string, candidates []string, max int) []string {
	low := strings.ToLower(name)
	limit := len(name) / 3
	if limit < 2 {
		limit = 2
	}
	type scored struct {
		name string
		d    int
	}
	var hits []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := Distance(low, lc)
		if low != "" && (strings.Contains(lc, low) || strings.Contains(low, lc)) {
			d = min(d, 1)
		}
		if d <= limit {
			hits = append(hits, scored{c, d})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].d < hits[j].d })
	out := []string{}
	for _, h := range hits {
		if len(out) == max || h.d > hits[0].d {
			break
		}
		out = append(out, h.name)
	}
	return out
}
