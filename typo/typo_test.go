package typo

import "testing"

func TestDistance(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"totl_spent", "total_spent", 1},
		{"total_spnet", "total_spent", 1}, // adjacent transposition
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // restricted Damerau: no edit inside a transposition
		{"héllo", "hello", 1},
		{"same", "same", 0},
	}
	for _, c := range cases {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", c.b, c.a, got, c.want)
		}
	}
}
