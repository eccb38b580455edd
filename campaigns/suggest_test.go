package campaigns

import "testing"

// TestClosestCountsSwapsAsOneTypo: two letters swapped are one typo (the
// distance is typo's, the one rule errors use), so a key with two swaps is
// still recognised; names far from every candidate get no suggestion.
func TestClosestCountsSwapsAsOneTypo(t *testing.T) {
	t.Parallel()
	keys := []string{"trigger", "audience", "channels", "messages"}
	for name, want := range map[string]string{
		"tirgegr":  "trigger", // two swaps: two typos, within the limit for 7 letters
		"audeince": "audience",
		"Channels": "channels",
		"aud":      "audience", // an abbreviation
		"zzzz":     "",
	} {
		if got := closest(name, keys); got != want {
			t.Errorf("closest(%q) = %q, want %q", name, got, want)
		}
	}
}
