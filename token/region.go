package token

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubeiam/kubeiam/internal/suggest"
)

// RegionError is a region that is not well-formed: no server has an STS
// host for it, so no token is signed. Source names where it came from
// ("--region", "AWS_REGION", `profile "dev"`), when the caller knows.
type RegionError struct {
	Region     string
	Source     string
	Suggestion string
}

func (e *RegionError) Error() string {
	what := fmt.Sprintf("region %q", e.Region)
	switch {
	case strings.HasPrefix(e.Source, "profile "):
		what += " of " + e.Source
	case e.Source != "":
		what = fmt.Sprintf("%s %q", e.Source, e.Region)
	}
	if strings.TrimSpace(e.Region) == "" {
		return fmt.Sprintf("%s is blank, not an AWS region; did you mean %s?", what, e.Suggestion)
	}
	return fmt.Sprintf("%s is not an AWS region; did you mean %s?", what, e.Suggestion)
}

// CheckRegion tells whether region is well-formed — lowercase letters,
// digits and hyphens fitting one partition's naming pattern (the SDK's
// regionRegex) — and whether it is in the partition table. A region that is
// not well-formed is a *RegionError suggesting the closest known region.
func CheckRegion(region string) (known bool, err error) {
	if wellFormed(region) {
		for i := range partitionTable {
			if p := &partitionTable[i]; p.matchRegion(region) {
				return slices.Contains(p.regions, region), nil
			}
		}
	}
	return false, &RegionError{Region: region, Suggestion: closestRegion(region)}
}

func wellFormed(region string) bool {
	if region == "" || strings.HasPrefix(region, "-") || strings.HasSuffix(region, "-") {
		return false
	}
	for _, c := range region {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// closestRegion is the known region with the smallest edit distance from
// region, compared in lowercase without surrounding spaces (so US-EAST-1
// and " us-east-1" point at us-east-1); ties go to the first in table order.
func closestRegion(region string) string {
	s := strings.ToLower(strings.TrimSpace(region))
	if s == "" {
		return DefaultRegion
	}
	best, bestDist := DefaultRegion, -1
	for _, p := range partitionTable {
		for _, r := range p.regions {
			if d := suggest.Distance(s, r); bestDist < 0 || d < bestDist {
				best, bestDist = r, d
			}
		}
	}
	return best
}
