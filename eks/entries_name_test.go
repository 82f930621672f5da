package eks

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidClusterNameIsEKSPattern checks the hand-written check against
// EKS's documented pattern on names at and around its edges.
func TestValidClusterNameIsEKSPattern(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)
	names := []string{"", "a", "0", "-a", "_a", "a-b_c", "prod.eu", "a b", "é", "a\n", "ab/c",
		strings.Repeat("a", 100), strings.Repeat("a", 101), "8b4459b2-1f55-42e9-856f-0640d1157ef0"}
	for _, n := range names {
		if got, want := validClusterName(n), re.MatchString(n); got != want {
			t.Errorf("validClusterName(%q) = %v, EKS's pattern says %v", n, got, want)
		}
	}
}
