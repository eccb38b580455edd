// Package synth makes deterministic synthetic customers and purchases for the
// demo and the benchmarks: plausible names, locales with matching time zones
// (including the awkward ones: UTC-10, UTC+5:45, UTC+14), birthdays spread over
// the year with some falling today, consent mixes, and purchase histories with
// a personal rhythm, some lapsed. The same seed gives the same data.
package synth

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// Customer is one synthetic customer and their purchases.
type Customer struct {
	Customer  store.CustomerInput
	Purchases []store.PurchaseInput
}

var (
	firstNames = []string{"Ada", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
		"Kiri", "Léa", "Mateo", "Nora", "Oskar", "Priya", "Quentin", "Rosa", "Sami", "Tove", "Ugo", "Vera", "Wen", "Yara"}
	lastNames = []string{"Martin", "Müller", "García", "Rossi", "de Vries", "Dubois", "Novak", "Silva", "Kowalski",
		"Jansen", "Moreau", "Fischer", "López", "Bianchi", "Tanaka", "Sharma"}
	places = []struct{ locale, zone, phonePrefix string }{
		{"en-US", "America/New_York", "+1555"},
		{"en-US", "Pacific/Honolulu", "+1555"}, // UTC-10
		{"en-GB", "Europe/London", "+44700"},
		{"fr-FR", "Europe/Paris", "+33700"},
		{"de-DE", "Europe/Berlin", "+49150"},
		{"es-ES", "Europe/Madrid", "+34600"},
		{"nl-NL", "Europe/Amsterdam", "+31600"},
		{"en-IN", "Asia/Kathmandu", "+97798"},     // UTC+5:45
		{"en-KI", "Pacific/Kiritimati", "+68673"}, // UTC+14
		{"en-AU", "Australia/Sydney", "+61400"},
	}
	products = []product{
		{"TEE-01", "Organic T-shirt", "apparel", 24},
		{"MUG-02", "Stoneware mug", "home", 14},
		{"BAG-03", "Canvas tote", "accessories", 19},
		{"LMP-04", "Desk lamp", "home", 59},
		{"HDP-05", "Headphones", "audio", 129},
		{"BK-06", "Cookbook", "books", 32},
	}
)

type product struct {
	sku, name, category string
	price               float64
}

// Generate calls fn for n customers with ids "c<i>" (i from 1), purchases up to
// now. It stops at the first error fn returns.
func Generate(n int, seed uint64, now time.Time, fn func(Customer) error) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 1; i <= n; i++ {
		if err := fn(one(r, i, now)); err != nil {
			return err
		}
	}
	return nil
}

func one(r *rand.Rand, i int, now time.Time) Customer {
	in := profile(r, i, now)
	return Customer{Customer: in, Purchases: purchasesFor(r, in.ExternalID, now)}
}

// profile draws the customer's own attributes (no purchases).
func profile(r *rand.Rand, i int, now time.Time) store.CustomerInput {
	place := places[r.IntN(len(places))]
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	id := fmt.Sprintf("c%d", i)
	email := fmt.Sprintf("%s.%s.%d@example.com", asciiLower(first), asciiLower(last), i)
	phone := fmt.Sprintf("%s%06d", place.phonePrefix, i%1000000)
	birthday := birthdayFor(r, now, place.zone)
	emailOK, smsOK := r.Float64() < 0.85, r.Float64() < 0.45
	return store.CustomerInput{
		ExternalID: id, Email: &email, Phone: &phone, FirstName: &first, LastName: &last,
		Locale: ptr(place.locale), TimeZone: ptr(place.zone), Birthday: &birthday,
		EmailConsent: &emailOK, SMSConsent: &smsOK,
		Tags:       tagsFor(r),
		Attributes: map[string]any{"loyalty_tier": loyaltyTiers[r.IntN(len(loyaltyTiers))]},
	}
}

var loyaltyTiers = []string{"bronze", "silver", "gold"}

// birthdayFor spreads birthdays over the year, with about 2% of customers
// having theirs today in their own zone so the demo greets someone.
func birthdayFor(r *rand.Rand, now time.Time, zone string) time.Time {
	year := 1950 + r.IntN(55)
	if r.Float64() < 0.02 {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		local := now.In(loc)
		return time.Date(year, local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	}
	return time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365))
}

func tagsFor(r *rand.Rand) []string {
	var tags []string
	if r.Float64() < 0.1 {
		tags = append(tags, "vip")
	}
	if r.Float64() < 0.3 {
		tags = append(tags, "newsletter")
	}
	return tags
}

// purchasesFor draws a purchase history with drawPurchases.
func purchasesFor(r *rand.Rand, id string, now time.Time) []store.PurchaseInput {
	var out []store.PurchaseInput
	drawPurchases(r, now, func(k int, at time.Time, p product, qty int, cents int64) {
		items, _ := json.Marshal([]map[string]any{{"sku": p.sku, "name": p.name, "category": p.category,
			"quantity": qty, "price": p.price}})
		out = append(out, store.PurchaseInput{
			OrderID: fmt.Sprintf("%s-o%d", id, k), CustomerExternalID: id,
			AmountCents: cents, Currency: "EUR", Quantity: qty, Items: items, OccurredAt: at,
		})
	})
	return out
}

// The buying process is the one the BG/NBD model assumes, so a refresh fits
// it like a real shop's base: each buyer has a personal purchase rate drawn
// from a Gamma with shape rateShape and mean 1/meanGapDays per day and a personal
// drop-out probability drawn from Beta(dropA, dropB); after each purchase the
// buyer stops for good with that probability, else buys again after an
// exponential wait. First purchases are spread over the two years before now.
const (
	prospectShare = 0.15
	rateShape     = 1.5
	meanGapDays   = 40.0
	dropA, dropB  = 1.2, 5.0
	acquireDays   = 730
	maxOrders     = 60
)

// drawPurchases draws one customer's purchases (none for a prospect) and
// calls fn for each, oldest first, with its 1-based number, time (whole
// seconds, UTC), product, quantity and amount. Generate and Profiles both
// draw through it, so they consume the random stream alike.
func drawPurchases(r *rand.Rand, now time.Time, fn func(k int, at time.Time, p product, qty int, cents int64)) {
	if r.Float64() < prospectShare {
		return
	}
	perDay := insights.DrawGamma(r, rateShape) / (rateShape * meanGapDays)
	drop := insights.DrawBeta(r, dropA, dropB)
	t := now.Add(-time.Duration(r.Float64() * acquireDays * 24 * float64(time.Hour)))
	for k := 1; !t.After(now) && k <= maxOrders; k++ {
		p := products[r.IntN(len(products))]
		qty := 1 + r.IntN(3)
		amount := p.price * float64(qty) * math.Exp(r.NormFloat64()*0.2)
		fn(k, t.UTC().Truncate(time.Second), p, qty, int64(math.Round(amount*100)))
		if r.Float64() < drop {
			return
		}
		// The wait in days, compared before it becomes a Duration: a buyer
		// with a tiny rate waits longer than a Duration holds (292 years),
		// and the overflow once sent the clock thousands of years back (a
		// customer "6,000 years old" in the 1M-customer benchmark).
		wait := r.ExpFloat64() / perDay
		if wait > now.Sub(t).Hours()/24 {
			return
		}
		t = t.Add(time.Duration(wait * 24 * float64(time.Hour)))
	}
}

var asciiFold = strings.NewReplacer("é", "e", "ü", "u", "í", "i", "ó", "o", " ", "")

func asciiLower(s string) string { return strings.ToLower(asciiFold.Replace(s)) }

func ptr[T any](v T) *T { return &v }
