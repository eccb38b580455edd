package insights

import (
	"math"
	"testing"
)

// TestCompareProportionsHandComputed checks the statistics against values
// worked out by hand (the arithmetic is in the comments).
func TestCompareProportionsHandComputed(t *testing.T) {
	cases := []struct {
		name           string
		x1, n1, x0, n0 int64
		want           Lift
	}{{
		// p1 = .12, p0 = .08, d = .04; SE = sqrt(.12*.88/1000 + .08*.92/1000)
		// = sqrt(.0001792) = .0133866; CI = .04 -+ 1.96*.0133866 = [.01376, .06624].
		// Pooled p = .1, SE = sqrt(.1*.9*2/1000) = .0134164, z = 2.98142,
		// p-value = erfc(2.98142/sqrt2) = .0028691. Significant: no more needed.
		name: "significant rise", x1: 120, n1: 1000, x0: 80, n0: 1000,
		want: Lift{Diff: .04, Low: .0137628, High: .0662372, Relative: .5, PValue: .0028691, Significant: true},
	}, {
		// p1 = .11, p0 = .09, d = .02; SE = sqrt(.11*.89/500 + .09*.91/500)
		// = .0189644; CI = [-.017167, .057167]. Pooled p = .1, z = .02/.0189737
		// = 1.05409, p = .29184. Sample size per arm, k = 1: (1.96*sqrt(.1*.9*2)
		// + .8416*sqrt(.11*.89 + .09*.91))^2 / .02^2 = 3530.82, so 2*3530.82
		// = 7061.6 -> 7062 in all, 6062 more than the 1000 there.
		name: "too few", x1: 55, n1: 500, x0: 45, n0: 500,
		want: Lift{Diff: .02, Low: -.017167, High: .057167, Relative: .222222, PValue: .291841, MoreNeeded: 6062},
	}, {
		// Equal rates: d = 0, CI symmetric, p-value 1; no size would tell.
		name: "equal", x1: 90, n1: 900, x0: 10, n0: 100,
		want: Lift{Diff: 0, Low: -.0619795, High: .0619795, PValue: 1},
	}, {
		// A drop with a 1:1 split: p1 = .03, p0 = .05, d = -.02;
		// SE = sqrt(.03*.97/1000 + .05*.95/1000) = .0087750; CI = [-.037154, -.002846].
		name: "significant drop", x1: 30, n1: 1000, x0: 50, n0: 1000,
		want: Lift{Diff: -.02, Low: -.0371539, High: -.0028461, Relative: -.4, PValue: .0224789, Significant: true},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := CompareProportions(c.x1, c.n1, c.x0, c.n0)
			if !ok {
				t.Fatal("not comparable")
			}
			near := func(what string, g, w float64) {
				if math.Abs(g-w) > 1e-6 {
					t.Errorf("%s = %.7f, want %.7f", what, g, w)
				}
			}
			near("diff", got.Diff, c.want.Diff)
			near("low", got.Low, c.want.Low)
			near("high", got.High, c.want.High)
			near("relative", got.Relative, c.want.Relative)
			near("p-value", got.PValue, c.want.PValue)
			if got.Significant != c.want.Significant || got.MoreNeeded != c.want.MoreNeeded {
				t.Errorf("significant, more needed = %v, %d; want %v, %d",
					got.Significant, got.MoreNeeded, c.want.Significant, c.want.MoreNeeded)
			}
		})
	}
}

// TestMoreNeededUnequalSplit: with a 10% holdout (k = 1/9) the same rates
// need more recipients than with an even split, and adding the estimate
// makes the same rates significant.
func TestMoreNeededUnequalSplit(t *testing.T) {
	even, _ := CompareProportions(100, 1000, 90, 1000)
	skew, _ := CompareProportions(900, 9000, 90, 1000)
	if even.MoreNeeded <= 0 || skew.MoreNeeded <= even.MoreNeeded {
		t.Fatalf("more needed: even split %d, 90/10 split %d", even.MoreNeeded, skew.MoreNeeded)
	}
	// Scale both arms up to the estimated total at the same rates.
	f := float64(10000+skew.MoreNeeded) / 10000
	n1, n0 := int64(9000*f), int64(1000*f)
	after, _ := CompareProportions(int64(.10*float64(n1)), n1, int64(.09*float64(n0)), n0)
	if !after.Significant {
		t.Fatalf("at the estimated size (%d + %d) the difference is still not significant: %+v", n1, n0, after)
	}
}

func TestCompareProportionsRefusesEmptyGroups(t *testing.T) {
	for _, c := range [][4]int64{{0, 0, 1, 10}, {1, 10, 0, 0}, {11, 10, 1, 10}} {
		if _, ok := CompareProportions(c[0], c[1], c[2], c[3]); ok {
			t.Errorf("CompareProportions%v should not compare", c)
		}
	}
}

func TestVerdict(t *testing.T) {
	rise, _ := CompareProportions(120, 1000, 80, 1000)
	few, _ := CompareProportions(55, 500, 45, 500)
	drop, _ := CompareProportions(30, 1000, 50, 1000)
	equal, _ := CompareProportions(90, 900, 10, 100)
	cases := []struct {
		l    *Lift
		want string
	}{
		{nil, "no holdout: lift cannot be measured"},
		{&rise, "treated customers converted 4.0 points more (95% CI 1.4 to 6.6): a real effect"},
		{&few, "no evidence of effect yet: need about 6,100 more recipients (treated customers converted 2.0 points more (95% CI -1.7 to 5.7))"},
		{&drop, "treated customers converted 2.0 points less (95% CI -3.7 to -0.3): the campaign lowered conversion"},
		{&equal, "no evidence of effect: treated customers converted as often as the holdout (95% CI -6.2 to 6.2)"},
	}
	for _, c := range cases {
		if got := Verdict(c.l); got != c.want {
			t.Errorf("Verdict(%+v)\n got %q\nwant %q", c.l, got, c.want)
		}
	}
}

func TestRoughCount(t *testing.T) {
	for n, want := range map[int64]string{7: "7", 42: "42", 149: "150", 4213: "4,200", 6062: "6,100", 1234567: "1,200,000"} {
		if got := roughCount(n); got != want {
			t.Errorf("roughCount(%d) = %q, want %q", n, got, want)
		}
	}
}
