// Package customer is the registry of customer fields: every column of the
// customers table and every name audience rules and message templates read
// about a customer, declared once in Fields with its type, who sets it and
// what it means.
//
// The lists that used to be kept in step by hand are made from it: the
// store's column list, scan targets and binary decoders, the refresh's
// write of the scores, the columns a lean audience streams for a rule, the
// score columns whose freshness is checked, the columns `tidings import
// customers` accepts, the rows of the benchmarks' synthetic data, and (by
// the test, with -update) the field tables of docs/campaigns.md and
// docs/imports.md. The lists that stay declarations, because the hot paths
// read them without reflection or because they compute the value
// (store.Customer, store.InsightRow, rules.Env and its getters,
// worker.FillEnv, the writers of each group), are checked against Fields by
// this package's test, which names the list and the field to add.
//
// To add a field: one entry here, a migration adding the column to both
// dialects, then `go test ./customer`, which says what else to write; the
// README ("Adding a customer field") walks through it.
package customer

import "slices"

// Field is one customer fact: a column, a name rules read, or both.
type Field struct {
	// Column is the customers column that holds it; "" for a name rules
	// compute from other columns (From).
	Column string
	// Name is what audience rules and templates call it ("orders_count",
	// "rfm.segment"); "" when they do not see it.
	Name string
	// Type is the column's type, or for a computed name the type rules see.
	Type Type
	// From lists the columns a computed name is made of. A stored name
	// reads its own Column.
	From []string
	// Set says who writes the column.
	Set Setter
	// Import marks a column of `tidings import customers`; Example is a
	// valid cell of it, for the docs and the registry's test.
	Import  bool
	Example string
	// Few marks a text column with few distinct values (a stage, a zone):
	// readers keep one copy of each value.
	Few bool
	// Doc says what it holds, in its unit, for the docs table.
	Doc string
}

// Columns returns the columns the field's rule name reads: its own, or the
// ones it is computed from.
func (f Field) Columns() []string {
	if f.Column != "" {
		return []string{f.Column}
	}
	return slices.Clone(f.From)
}

// Setter is who writes a column.
type Setter string

// The writers of customer columns.
const (
	// Profile columns come from `tidings import customers` and the purchase
	// webhook's customer object.
	Profile Setter = "profile"
	// Purchases columns are recomputed from the customer's purchases on
	// every purchase written (webhook, import).
	Purchases Setter = "purchases"
	// Insights columns are written by `tidings insights refresh` (daily, and
	// after an import of purchases), as of the refresh clock.
	Insights Setter = "insights"
	// Record columns are kept by the store itself (id, timestamps).
	Record Setter = "record"
	// Surveys columns hold the customer's latest answer to a satisfaction
	// survey (a signed link or an SMS reply), written with its event.
	Surveys Setter = "surveys"
)

// Fields is the registry. Its order is the store's SELECT order and the
// docs table's: keep a new field beside those of its group.
var Fields = []Field{
	{Column: "id", Name: "id", Type: BigInt, Set: Record, Doc: "the customer's id in this database"},
	{Column: "external_id", Name: "external_id", Type: Text, Set: Profile, Import: true, Example: "C-1042",
		Doc: "the shop's own customer id (required in an import, the key it upserts on)"},
	{Column: "email", Name: "email", Type: Text, Set: Profile, Import: true, Example: "Ann@Example.com",
		Doc: "email address, lower case"},
	{Column: "phone", Name: "phone", Type: Text, Set: Profile, Import: true, Example: "+33 6 12 34 56 78",
		Doc: "phone number in international format (E.164, `+33612345678`)"},
	{Column: "first_name", Name: "first_name", Type: Text, Set: Profile, Import: true, Example: "Ann", Doc: "first name"},
	{Column: "last_name", Name: "last_name", Type: Text, Set: Profile, Import: true, Example: "Lee", Doc: "last name"},
	{Column: "locale", Name: "locale", Type: Text, Set: Profile, Import: true, Example: "fr-CA", Few: true,
		Doc: "BCP 47 language tag (`fr`, `fr-CA`); picks the message language"},
	{Column: "time_zone", Name: "time_zone", Type: Text, Set: Profile, Import: true, Example: "Europe/Paris", Few: true,
		Doc: "IANA zone (`Europe/Paris`); `\"\"` means inferred from the phone number, else the default zone"},
	{Column: "birthday", Name: "birthday", Type: Date, Set: Profile, Import: true, Example: "1990-12-31",
		Doc: "date of birth (`YYYY-MM-DD`); the zero time when unknown"},
	{Column: "email_consent", Name: "email_consent", Type: Bool, Set: Profile, Import: true, Example: "yes",
		Doc: "agreed to receive email"},
	{Column: "sms_consent", Name: "sms_consent", Type: Bool, Set: Profile, Import: true, Example: "true",
		Doc: "agreed to receive SMS"},
	{Column: "tags", Name: "tags", Type: List, Set: Profile, Import: true, Example: "vip;newsletter",
		Doc: "free labels (`;`-separated in an import); test with `has_tag(\"vip\")`"},
	{Column: "attributes", Name: "attributes", Type: Map, Set: Profile,
		Doc: "custom attributes: every other column of an import; read with `attr(\"plan\")`"},
	{Column: "orders_count", Name: "orders_count", Type: Int, Set: Purchases, Doc: "orders ever placed"},
	{Column: "total_spent_cents", Name: "total_spent", Type: Cents, Set: Purchases,
		Doc: "sum of all orders, in currency units (refunds are negative orders)"},
	{Name: "average_order_value", Type: Float, From: []string{"total_spent_cents", "orders_count"}, Set: Purchases,
		Doc: "`total_spent / orders_count`, in currency units; 0 without orders"},
	{Column: "first_purchase_at", Name: "first_purchase_at", Type: Time, Set: Purchases,
		Doc: "time of the first order; the zero time without orders"},
	{Column: "last_purchase_at", Name: "last_purchase_at", Type: Time, Set: Purchases,
		Doc: "time of the latest order; the zero time without orders"},
	{Name: "days_since_last_purchase", Type: Int, From: []string{"last_purchase_at"}, Set: Purchases,
		Doc: "whole days from the latest order to now; -1 without orders"},
	{Column: "avg_days_between", Name: "avg_days_between_purchases", Type: Float, Set: Purchases,
		Doc: "average days between orders: (latest - first) / (orders_count - 1); 0 with fewer than 2 orders"},
	{Column: "rfm_r", Name: "rfm.r", Type: Int, Set: Insights,
		Doc: "recency quintile score, 1 (longest ago) to 5; 0 when not scored"},
	{Column: "rfm_f", Name: "rfm.f", Type: Int, Set: Insights, Doc: "frequency quintile score, 1 to 5 (orders); 0 when not scored"},
	{Column: "rfm_m", Name: "rfm.m", Type: Int, Set: Insights, Doc: "monetary quintile score, 1 to 5 (total spent); 0 when not scored"},
	{Name: "rfm.score", Type: Text, From: []string{"rfm_r", "rfm_f", "rfm_m"}, Set: Insights,
		Doc: "the three scores as text, `\"545\"`; `\"\"` when not scored"},
	{Column: "rfm_segment", Name: "rfm.segment", Type: Text, Set: Insights, Few: true,
		Doc: "RFM segment of the segment map (`champions`, `at_risk`...); `\"\"` for prospects"},
	{Column: "lifecycle", Name: "lifecycle", Type: Text, Set: Insights, Few: true,
		Doc: "lifecycle stage: `prospect`, `new`, `growing`, `mature`, `declining`, `churned` (docs/intelligence.md); " +
			"`\"\"` when never refreshed; a change is a `lifecycle_changed` event"},
	{Column: "p_alive", Name: "p_alive", Type: Float, Set: Insights,
		Doc: "probability the customer is still a customer (Pareto/NBD by default, TIDINGS_CHURN_MODEL), 0 to 1; falls as a customer stays silent, one-time buyers too; 1 for prospects"},
	{Column: "expected_purchases_90d", Name: "expected_purchases_90d", Type: Float, Set: Insights,
		Doc: "purchase days expected in the next 90 days (the churn model)"},
	{Column: "clv", Name: "clv", Type: Float, Set: Insights,
		Doc: "expected value of the next 12 months in currency units, discounted 1% a month, times the margin (TIDINGS_CLV_*; the churn model and Gamma-Gamma)"},
	{Column: "spend_90d_cents", Name: "spend_90d", Type: Cents, Set: Insights,
		Doc: "spent in the 90 days up to the refresh (orders after its clock minus 90 days), in currency units"},
	{Column: "spend_prev_90d_cents", Name: "spend_prev_90d", Type: Cents, Set: Insights,
		Doc: "spent in the 90 days before those (91 to 180 days before the refresh), in currency units"},
	{Column: "orders_90d", Name: "orders_90d", Type: Int, Set: Insights,
		Doc: "orders in the 90 days up to the refresh, the window of `spend_90d`"},
	{Column: "orders_prev_90d", Name: "orders_prev_90d", Type: Int, Set: Insights,
		Doc: "orders in the 90 days before those, the window of `spend_prev_90d`"},
	{Column: "value_trend", Name: "value_trend", Type: Float, Set: Insights,
		Doc: "`spend_90d / max(spend_prev_90d, floor)` (floor: the base's median order value, " +
			"`TIDINGS_VALUE_FLOOR`); 1 when neither window has spend, 0.5 = spend halved"},
	{Column: "value_churn", Name: "value_churn", Type: Bool, Set: Insights,
		Doc: "still buying but spending far less: `orders_90d >= 1 && spend_prev_90d >= floor && " +
			"value_trend < 0.5` (`TIDINGS_VALUE_CHURN_BELOW`)"},
	{Column: "tier", Name: "tier", Type: Text, Set: Insights, Few: true,
		Doc: "loyalty tier of the tiers file (`TIDINGS_TIERS`): the highest tier whose threshold the spend or orders " +
			"of the window met within the grace period (at least the entry tier); `\"\"` for prospects and without a tiers file; " +
			"a change is a `tier_changed` event"},
	{Column: "abc", Name: "abc", Type: Text, Set: Insights, Few: true,
		Doc: "revenue class: `A` (the customers making the top 80% of revenue), `B` (the next 15%), `C` (the rest); " +
			"`\"\"` for prospects"},
	{Column: "next_purchase_days", Name: "next_purchase_days", Type: Int, Set: Insights,
		Doc: "expected days to the next purchase from the customer's own rhythm (average days between purchase days, " +
			"the base's median for one-time buyers) minus the days since the last one; negative when overdue; " +
			"99999 without a purchase"},
	{Column: "nps", Name: "nps", Type: Int, Set: Surveys,
		Doc: "the latest answer to an NPS survey, 0 to 10 (promoters 9-10, detractors 0-6); -1 when never answered, " +
			"so `nps >= 0 && nps <= 6` finds detractors"},
	{Column: "csat", Name: "csat", Type: Int, Set: Surveys,
		Doc: "the latest answer to a CSAT survey, 1 to 5 (satisfied 4-5); -1 when never answered"},
	{Column: "insights_at", Type: Time, Set: Insights, Doc: "the clock of the refresh that wrote the scores"},
	{Column: "created_at", Type: Time, Set: Record, Doc: "when the row was created"},
	{Column: "updated_at", Type: Time, Set: Record, Doc: "when the profile or the purchase metrics last changed"},
}

// Columns returns every customers column, in table order.
func Columns() []string { return collect(func(f Field) string { return f.Column }) }

// Names returns every name rules and templates read, in table order.
func Names() []string { return collect(func(f Field) string { return f.Name }) }

// SetBy returns the columns set writes, in table order.
func SetBy(set Setter) []string {
	return collect(func(f Field) string { return when(f.Set == set, f.Column) })
}

// ImportColumns returns the columns `tidings import customers` reads, in
// table order (any other column of a file is a custom attribute).
func ImportColumns() []string {
	return collect(func(f Field) string { return when(f.Import, f.Column) })
}

// ByColumn returns the field stored in column.
func ByColumn(column string) (Field, bool) {
	for _, f := range Fields {
		if f.Column == column && column != "" {
			return f, true
		}
	}
	return Field{}, false
}

// collect returns pick's non-empty answers over Fields, in table order.
func collect(pick func(Field) string) []string {
	var out []string
	for _, f := range Fields {
		if v := pick(f); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func when(ok bool, v string) string {
	if ok {
		return v
	}
	return ""
}
