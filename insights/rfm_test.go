package insights

import (
	"strings"
	"testing"
	"time"
)

// TestScoreHandChecked scores 20 customers (plus a prospect, who must not
// move the cut points) and compares with scores worked out by hand.
//
// With n = 20 the cut points are the values at sorted positions 4, 8, 12, 16.
//   - Recency (days, smaller is better), sorted worst first:
//     400 350 300 250 | 200 180 160 150 | 120 100 90 80 | 80 45 30 30 | 20 10 5 1
//     cuts 250, 150, 80, 30; R = 1 + #{cuts c : days < c}. The two 80s tie
//     across the third cut and both get R=3; the two 30s both get R=4.
//   - Frequency (orders): 1 1 1 1 1 1 2 2 2 3 3 3 4 5 6 8 10 12 15 20
//     cuts 1, 2, 3, 8; F = 1 + #{c : orders > c}: the six 1s are F1, 2 is
//     F2, 3 is F3, 4-8 are F4, 10+ are F5.
//   - Monetary (total spend): 15 20 25 30 | 40 55 60 75 | 90 110 130 150 |
//     200 260 300 420 | 500 800 1200 2500, cuts 30, 75, 150, 420;
//     M = 1 + #{c : spend > c} (so 30 is M1, 75 is M2, 420 is M4).
//
// Segments then follow DefaultSegmentMapYAML on (R, F).
func TestScoreHandChecked(t *testing.T) {
	now := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		days, orders int
		spend        float64
		want         string // R F M
		segment      string
	}{
		{1, 20, 2500, "555", "champions"},
		{5, 10, 1200, "555", "champions"},
		{10, 1, 20, "511", "new"},
		{20, 2, 110, "523", "potential_loyalists"},
		{30, 8, 500, "445", "loyal"},
		{30, 1, 25, "411", "promising"},
		{45, 3, 150, "433", "potential_loyalists"},
		{80, 3, 130, "333", "need_attention"},
		{80, 6, 420, "344", "loyal"},
		{90, 1, 15, "311", "about_to_sleep"},
		{100, 2, 60, "322", "about_to_sleep"},
		{120, 1, 40, "312", "about_to_sleep"},
		{150, 15, 800, "255", "cannot_lose"},
		{160, 4, 260, "244", "at_risk"},
		{180, 2, 55, "222", "hibernating"},
		{200, 1, 30, "211", "hibernating"},
		{250, 12, 300, "154", "cannot_lose"},
		{300, 5, 200, "144", "at_risk"},
		{350, 3, 90, "133", "at_risk"},
		{400, 1, 75, "112", "lost"},
	}
	customers := []CustomerStats{{ID: 999}} // a prospect
	for i, c := range cases {
		last := now.Add(-time.Duration(c.days)*24*time.Hour - 3*time.Hour)
		customers = append(customers, CustomerStats{
			ID: int64(i + 1), Orders: c.orders, TotalSpent: c.spend,
			LastPurchaseAt: last, FirstPurchaseAt: last.Add(-time.Duration(c.orders-1) * 30 * 24 * time.Hour),
		})
	}
	res, err := Score(customers, now, ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := res[0]; p.R != 0 || p.Score != "" || p.Segment != "" || p.Lifecycle != StageProspect || p.PAlive != -1 {
		t.Errorf("prospect scored: %+v", p)
	}
	for i, c := range cases {
		r := res[i+1]
		if r.ID != int64(i+1) || r.Score != c.want || r.Segment != c.segment {
			t.Errorf("customer %d (%d days, %d orders, %g): got %s %s, want %s %s", i+1, c.days, c.orders, c.spend, r.Score, r.Segment, c.want, c.segment)
		}
		if want := string(rune('0'+r.R)) + string(rune('0'+r.F)) + string(rune('0'+r.M)); r.Score != want {
			t.Errorf("customer %d: Score %q disagrees with R/F/M %d/%d/%d", i+1, r.Score, r.R, r.F, r.M)
		}
	}
	s, _ := NewScorer(customers, now, ScoreOptions{})
	r, f, m := s.Quintiles()
	if r.Cuts != [4]float64{-250, -150, -80, -30} || f.Cuts != [4]float64{1, 2, 3, 8} || m.Cuts != [4]float64{30, 75, 150, 420} {
		t.Errorf("cuts R %v F %v M %v", r.Cuts, f.Cuts, m.Cuts)
	}
	// Average order value as M: customer 1 (125/order) vs customer 3 (20).
	avg, _ := Score(customers, now, ScoreOptions{Monetary: MonetaryAverage})
	if !(avg[1].M > avg[3].M) {
		t.Errorf("average-spend M: %d vs %d", avg[1].M, avg[3].M)
	}
}

func TestQuintilesEdgeCases(t *testing.T) {
	if q := NewQuintiles(nil, false); q.Score(123) != 1 {
		t.Error("empty base should score 1")
	}
	same := NewQuintiles([]float64{7, 7, 7, 7, 7, 7}, false)
	for _, v := range []float64{7, 6} {
		if s := same.Score(v); s != 1 {
			t.Errorf("all-tied base: Score(%g) = %d, want 1", v, s)
		}
	}
	if s := same.Score(8); s != 5 {
		t.Errorf("above all ties: %d, want 5", s)
	}
	// Order of input does not matter (deterministic ties).
	a := NewQuintiles([]float64{5, 1, 3, 3, 2, 4, 3, 9, 3, 3}, false)
	b := NewQuintiles([]float64{3, 3, 3, 3, 3, 9, 5, 4, 2, 1}, false)
	if a != b {
		t.Errorf("input order changed cuts: %v vs %v", a, b)
	}
}

func TestParseSegmentMap(t *testing.T) {
	def := DefaultSegmentMap()
	if got := strings.Join(def.Names(), ","); got != "champions,loyal,potential_loyalists,new,promising,need_attention,about_to_sleep,cannot_lose,at_risk,lost,hibernating" {
		t.Errorf("default names %s", got)
	}
	// An override using M and JSON syntax: big spenders first, everyone else "other".
	m, err := ParseSegmentMap([]byte(`{"whales": ["**5", "*[4-5]4"], "other": "**"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r, f, m int
		want    string
	}{{1, 1, 5, "whales"}, {3, 5, 4, "whales"}, {3, 3, 4, "other"}, {5, 5, 1, "other"}, {0, 1, 1, ""}} {
		if got := m.Segment(c.r, c.f, c.m); got != c.want {
			t.Errorf("Segment(%d,%d,%d) = %q, want %q", c.r, c.f, c.m, got, c.want)
		}
	}
	for _, bad := range []struct{ in, msg string }{
		{`champions: ["5[4-5]"]`, "match no segment"},
		{`Champions: ["**"]`, "lower_snake_case"},
		{`a: ["6*"]`, "unexpected"},
		{`a: ["[5-4]*"]`, "bad range"},
		{`a: ["*"]`, "two positions"},
		{`a: ["****"]`, "more than three"},
		{`a: ["[1-5*"]`, "unclosed"},
		{`a: {b: c}`, "list of patterns"},
		{`- a`, "mapping"},
		{"a: [\"**\"]\nb: [", "segment map"},
	} {
		if _, err := ParseSegmentMap([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("ParseSegmentMap(%q) error %v, want it to mention %q", bad.in, err, bad.msg)
		}
	}
}
