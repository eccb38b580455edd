// Package typo measures how far a misspelt name is from the names it may
// have meant, for the did-you-mean suggestions of rule errors (rules) and
// campaign file problems (campaigns). Each caller keeps its own idea of
// what is close enough; the distance is one.
package typo

// Distance is the optimal-string-alignment (restricted Damerau-Levenshtein)
// distance between a and b, in runes: insertions, deletions, substitutions
// and transpositions of adjacent runes each cost 1, so "wiat" is one typo
// away from "wait".
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 {
		return max(len(ra), len(rb))
	}
	// Three rolling rows: two back (for transpositions), previous, current.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
