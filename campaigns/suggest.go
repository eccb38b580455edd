package campaigns

import (
	"fmt"
	"strings"

	"github.com/tidings-crm/tidings/typo"
)

// closest returns the candidate nearest to name by edit distance, or "" when
// none is close enough to be a plausible typo.
func closest(name string, candidates []string) string {
	best, bestDist := "", -1
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := typo.Distance(lname, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(2, len([]rune(name))/3)
	if bestDist >= 0 && bestDist <= limit {
		return best
	}
	// An abbreviation ("promo" for "promotional") is a plausible typo too.
	if len(lname) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(strings.ToLower(c), lname) {
				return c
			}
		}
	}
	return ""
}

// DidYouMean is didYouMean for callers outside the package (an API naming
// an unknown campaign id).
func DidYouMean(name string, candidates []string) string { return didYouMean(name, candidates) }

// didYouMean formats a "; did you mean %q?" suffix, or "" without a match.
func didYouMean(name string, candidates []string) string {
	if s := closest(name, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}
