// Package insights computes customer intelligence for campaigns: RFM scores
// and segments, lifecycle stages, the count models (Pareto/NBD, the default,
// BG/NBD and MBG/NBD: P(alive), expected purchases), the Gamma-Gamma spend
// model and customer lifetime value. It is
// pure computation: no I/O, no clock (callers pass now), no logging.
//
// # Units
//
// RFM recency and lifecycle thresholds are in whole days. The models work in
// one time unit chosen by the caller, weeks by default (RFT.TX, RFT.T,
// BGNBDParams.Alpha and every horizon t are in that unit). Money is in the
// currency of the input; Gamma-Gamma V, ExpectedSpend and CLV share it.
//
// # RFM
//
// R is whole days since the last purchase, F the number of orders, M the
// total spend (ScoreOptions.Monetary selects average order value instead).
// Each is scored 1-5 by quintile cut points over the customers with at
// least one order (Quintiles): 5 is best (most recent, most frequent,
// highest spend). Equal values always get equal scores; a value tied with a
// cut point takes the lower band, so heavily tied values (one-order
// customers) can leave bands empty rather than split equals arbitrarily.
// Prospects get R = F = M = 0 and no segment.
//
// # Segment map
//
// Segments are named by a SegmentMap, a priority-ordered mapping from
// segment name to score patterns. A pattern has two positions (R, F) or
// three (R, F, M); each is a digit 1-5, a class like [4-5] or [135], or *.
// The first segment with a matching pattern wins, and every score cell must
// be covered. The default (DefaultSegmentMapYAML) is the common R/F map:
//
//	champions 5[4-5]         loyal [3-4][4-5]     potential_loyalists [4-5][2-3]
//	new 51                   promising 41         need_attention 33
//	about_to_sleep 3[1-2]    cannot_lose [1-2]5   at_risk [1-2][3-4]
//	lost 11                  hibernating [1-2][1-2]
//
// A user overrides it with ParseSegmentMap on YAML or JSON, e.g.
//
//	vip:   ["**5"]          # top spenders first, whatever R and F
//	sleep: ["[1-2]*"]
//	other: ["**"]           # catch-all keeps every cell covered
//
// # Lifecycle
//
// LifecycleRules.Stage applies, in order: prospect (no purchase); new (the
// first purchase within NewWithinDays); churned (the churn model's P(alive)
// below ChurnPAlive); declining (a single purchase day past new, no
// purchase for max(DeclineGapMultiple x own gap, DeclineFloorDays), or the
// latest 90 days' spend below DeclineBelow x the 90 days before, from a
// baseline of the value floor); growing (the latest 90 days' spend at least
// GrowAbove x the 90 days before); mature otherwise. Purchases on one date
// are one purchase day, as in the models. Declining is the early warning
// the churn alert needs: the customer's own volume or value is falling
// while the model still counts them alive.
//
// # Models
//
// FitBGNBD maximises the BG/NBD likelihood of Fader, Hardie and Lee (2005)
// over log-parameters with a restarted Nelder-Mead; on the CDNOW sample it
// reproduces the published r=0.243, alpha=4.414, a=0.793, b=2.426
// (LL -9582.43). ExpectedPurchases is eq. (10) with the hypergeometric
// function summed as a series after Euler's transformation (stable for
// heavy buyers). FitGammaGamma reproduces p=6.25, q=3.74, v=15.44. CLV
// follows lifetimes: expected purchases per period times the Gamma-Gamma
// expected spend, discounted per period. FitParetoNBD fits the Pareto/NBD
// (Schmittlein, Morrison and Colombo 1987) with the same search and
// reproduces Fader, Hardie and Lee's r=0.55, alpha=10.58, s=0.61,
// beta=11.67 (LL -9595.0) on the same sample; its integral term is summed
// as a hypergeometric series of positive terms (paretoLogG). Models holds
// whichever count model was fitted (Kind) and answers for it.
// SummaryFromTransactions builds the model inputs from a purchase log with
// lifetimes' conventions, counting purchase days.
//
// # Scoring at scale
//
// NewScorer sorts one reused buffer per dimension to find the cut points,
// then Scorer.Score scores a customer in O(1) without allocating, so a
// refresh job can stream customers from the store (and share one Scorer
// across goroutines). FitModels fits a count model and Gamma-Gamma to a
// purchase log, on the summaries the refresh fits.
package insights
