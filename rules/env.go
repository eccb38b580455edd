package rules

import "time"

// Env is the typed environment an audience rule is checked against at load time
// and evaluated against for each customer. Field names in rules are the `expr`
// tags (snake_case); message templates use the same names.
//
// Env deliberately has no methods: expr would expose them to rule authors.
// The callable helpers (days_since, age, in_local_hour, has_tag) are function
// fields installed by NewEnv and bound to this Env's own customer and clock, so
// one Env can be reused for a whole audience stream without allocating.
type Env struct {
	// Customer attributes.
	ID           int64          `expr:"id"`
	ExternalID   string         `expr:"external_id"`
	Email        string         `expr:"email"`
	Phone        string         `expr:"phone"`
	FirstName    string         `expr:"first_name"`
	LastName     string         `expr:"last_name"`
	Locale       string         `expr:"locale"`
	TimeZone     string         `expr:"time_zone"` // IANA name; empty means the configured default
	Birthday     time.Time      `expr:"birthday"`  // zero when unknown (date only, UTC midnight)
	Tags         []string       `expr:"tags"`
	Attributes   map[string]any `expr:"attributes"` // custom attributes from JSON
	EmailConsent bool           `expr:"email_consent"`
	SMSConsent   bool           `expr:"sms_consent"`

	// Purchase metrics, maintained by the store on every purchase.
	OrdersCount             int       `expr:"orders_count"`
	TotalSpent              float64   `expr:"total_spent"`
	AverageOrderValue       float64   `expr:"average_order_value"`        // 0 when no orders
	FirstPurchaseAt         time.Time `expr:"first_purchase_at"`          // zero when no orders
	LastPurchaseAt          time.Time `expr:"last_purchase_at"`           // zero when no orders
	DaysSinceLastPurchase   int       `expr:"days_since_last_purchase"`   // -1 when no orders
	AvgDaysBetweenPurchases float64   `expr:"avg_days_between_purchases"` // 0 with fewer than 2 orders

	// Customer intelligence, stored by the insights refresh job.
	RFM                  RFM     `expr:"rfm"`
	Lifecycle            string  `expr:"lifecycle"` // prospect, new, growing, mature, declining, churned
	PAlive               float64 `expr:"p_alive"`
	ExpectedPurchases90d float64 `expr:"expected_purchases_90d"`
	CLV                  float64 `expr:"clv"`
	Spend90d             float64 `expr:"spend_90d"`          // spent in the 90 days up to the refresh
	SpendPrev90d         float64 `expr:"spend_prev_90d"`     // spent in the 90 days before those
	Orders90d            int     `expr:"orders_90d"`         // orders in the 90 days up to the refresh
	OrdersPrev90d        int     `expr:"orders_prev_90d"`    // orders in the 90 days before those
	ValueTrend           float64 `expr:"value_trend"`        // spend_90d over the floored spend_prev_90d
	ValueChurn           bool    `expr:"value_churn"`        // still buying, spend fallen (insights.ValueChurnRule)
	Tier                 string  `expr:"tier"`               // loyalty tier (insights.Tiers); "" for prospects, without tiers
	ABC                  string  `expr:"abc"`                // A, B or C (insights.ABC); "" for prospects
	NextPurchaseDays     int     `expr:"next_purchase_days"` // expected days to the next purchase, < 0 overdue

	// Satisfaction: the latest survey answers, -1 when never answered.
	NPS  int `expr:"nps"`  // 0 to 10
	CSAT int `expr:"csat"` // 1 to 5

	// The triggering event, for event-triggered campaigns (zero otherwise).
	Event Event `expr:"event"`

	// The customer's way through a journey, for a journey's branch rules
	// only (see Journey and Options.Journey; zero otherwise).
	Journey Journey `expr:"journey"`

	// Now is the evaluation clock (a fake clock in tests).
	Now time.Time `expr:"now"`

	// Functions, installed by NewEnv.
	DaysSince   func(t time.Time) int         `expr:"days_since"`    // whole days from t to now; -1 for a zero t
	Age         func() int                    `expr:"age"`           // whole years from birthday to today in the customer's zone; -1 when unknown
	InLocalHour func(from, to int) bool       `expr:"in_local_hour"` // customer's local hour in [from, to) (wraps past midnight)
	HasTag      func(tag string) bool         `expr:"has_tag"`       // case-insensitive tag membership
	Attr        func(name string) any         `expr:"attr"`          // a custom attribute, nil when absent
	DaysUntil   func(t time.Time) int         `expr:"days_until"`    // whole days from now to t
	Within      func(t time.Time, d int) bool `expr:"within_days"`   // t within the last d days

	// Event history (events.go): only with literal arguments, read from
	// the History the engine gives with SetHistory.
	CountEvents    func(typ, window string) int `expr:"count_events"`     // events of typ in the last window, up to now
	LastEvent      func(typ string) time.Time   `expr:"last_event"`       // the latest typ event up to now; zero when none
	DaysSinceEvent func(typ string) int         `expr:"days_since_event"` // whole days since last_event(typ); -1 when none

	// Topics (topics.go): true unless the customer left the topic; only
	// with a configured topic in quotes, read from the opt-outs the engine
	// gives with SetOptOuts.
	Subscribed func(topic string) bool `expr:"subscribed"`

	history *History // SetHistory; nil: none read
	optOuts *optOuts // SetOptOuts; nil: none read
}

// RFM holds the recency, frequency and monetary quintile scores (1-5, 0 when
// not scored yet) and the named segment.
type RFM struct {
	R       int    `expr:"r"`
	F       int    `expr:"f"`
	M       int    `expr:"m"`
	Score   string `expr:"score"`   // e.g. "545"
	Segment string `expr:"segment"` // e.g. "champions", "at_risk"
}

// Event is the event that triggered a campaign (or that a wait_for or an
// exit_on filter is looking at): any type, its properties as sent; a
// purchase also has its order's fields.
type Event struct {
	Type       string         `expr:"type"` // "purchase", "cart_updated", ...
	Properties map[string]any `expr:"properties"`
	OrderID    string         `expr:"order_id"`
	Amount     float64        `expr:"amount"`
	Currency   string         `expr:"currency"`
	Items      []Item         `expr:"items"`
	OccurredAt time.Time      `expr:"occurred_at"`
	FirstOrder bool           `expr:"first_order"` // the customer's first purchase
}

// Item is one line of a purchase.
type Item struct {
	SKU      string  `expr:"sku"`
	Name     string  `expr:"name"`
	Category string  `expr:"category"`
	Quantity int     `expr:"quantity"`
	Price    float64 `expr:"price"`
}
