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
	products = []struct {
		sku, name, category string
		price               float64
	}{
		{"TEE-01", "Organic T-shirt", "apparel", 24},
		{"MUG-02", "Stoneware mug", "home", 14},
		{"BAG-03", "Canvas tote", "accessories", 19},
		{"LMP-04", "Desk lamp", "home", 59},
		{"HDP-05", "Headphones", "audio", 129},
		{"BK-06", "Cookbook", "books", 32},
	}
)

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

// purchasesFor draws a purchase history: 15% prospects, the rest buying with a
// personal mean gap; a third of buyers stopped some months ago.
func purchasesFor(r *rand.Rand, id string, now time.Time) []store.PurchaseInput {
	if r.Float64() < 0.15 {
		return nil
	}
	gapDays := 15 + r.ExpFloat64()*60
	end := now.Add(-time.Duration(r.Float64()*10*24) * time.Hour)
	if r.Float64() < 0.33 {
		end = now.AddDate(0, 0, -(60 + r.IntN(300)))
	}
	start := end.AddDate(0, 0, -r.IntN(700))
	var out []store.PurchaseInput
	for t, k := start, 1; !t.After(end) && k <= 60; k++ {
		p := products[r.IntN(len(products))]
		qty := 1 + r.IntN(3)
		amount := p.price * float64(qty) * math.Exp(r.NormFloat64()*0.2)
		items, _ := json.Marshal([]map[string]any{{"sku": p.sku, "name": p.name, "category": p.category,
			"quantity": qty, "price": p.price}})
		out = append(out, store.PurchaseInput{
			OrderID: fmt.Sprintf("%s-o%d", id, k), CustomerExternalID: id,
			AmountCents: int64(math.Round(amount * 100)), Currency: "EUR", Quantity: qty,
			Items: items, OccurredAt: t.UTC().Truncate(time.Second),
		})
		t = t.Add(time.Duration((0.3 + r.ExpFloat64()) * gapDays * 24 * float64(time.Hour)))
	}
	return out
}

var asciiFold = strings.NewReplacer("é", "e", "ü", "u", "í", "i", "ó", "o", " ", "")

func asciiLower(s string) string { return strings.ToLower(asciiFold.Replace(s)) }

func ptr[T any](v T) *T { return &v }
