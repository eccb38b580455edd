package campaigns

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// sampleEnv is a fixed customer for rendering.
func sampleEnv(locale string) *rules.Env {
	return &rules.Env{
		ID: 42, ExternalID: "C-0042", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		Locale: locale, TimeZone: "Europe/Paris", Birthday: time.Date(1990, 3, 2, 0, 0, 0, 0, time.UTC),
		OrdersCount: 5, TotalSpent: 1234.5, AverageOrderValue: 246.9,
		LastPurchaseAt:        time.Date(2026, 5, 17, 14, 0, 0, 0, time.UTC),
		DaysSinceLastPurchase: 189, AvgDaysBetweenPurchases: 41.6,
		RFM:       rules.RFM{R: 2, F: 4, M: 5, Score: "245", Segment: "at_risk"},
		Lifecycle: "declining", PAlive: 0.31, CLV: 412.75, Spend90d: 38.5, SpendPrev90d: 240, Orders90d: 1,
		OrdersPrev90d: 4, ValueTrend: 38.5 / 240, ValueChurn: true,
		Event: rules.Event{Type: "purchase", OrderID: "A-1001", Amount: 149.9, Currency: "EUR", FirstOrder: true,
			Items: []rules.Item{{SKU: "CD-1", Name: "Kind of Blue", Quantity: 1, Price: 99.9}, {SKU: "CD-2", Name: "Blue Train", Quantity: 2, Price: 25}}},
		Now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC),
	}
}

func loadExamples(t *testing.T) map[string]*Campaign {
	t.Helper()
	list, problems := LoadDir(examplesDir)
	if HasErrors(problems) {
		t.Fatalf("examples: %v", problems)
	}
	out := map[string]*Campaign{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

func formatRendered(r Rendered) string {
	return fmt.Sprintf("From-Name: %s\nSubject: %s\n--- text\n%s\n--- html\n%s\n", r.FromName, r.Subject, r.Text, r.HTML)
}

func TestRenderExamplesGolden(t *testing.T) {
	byID := loadExamples(t)
	cases := []struct{ id, channel, locale, variant string }{
		{"birthday-greeting", "email", "en-GB", ""},
		{"birthday-greeting", "email", "fr-CA", ""}, // falls back to fr
		{"birthday-greeting", "sms", "fr", ""},
		{"birthday-greeting", "sms", "de-DE", ""}, // no German: the default
		{"win-back-90d", "email", "en-US", "discount"},
		{"win-back-90d", "email", "en-US", "personal"},
		{"win-back-90d", "email", "fr-FR", "personal"}, // variant's own fr subject, campaign's fr text
		{"churn-alert", "email", "en-US", ""},
		{"purchase-thank-you", "email", "en", ""},
		{"purchase-thank-you", "email", "fr", ""}, // fr text, html from the default
		{"weekly-newsletter", "email", "nl", ""},
	}
	for _, tc := range cases {
		name := strings.Join([]string{tc.id, tc.channel, tc.locale, tc.variant}, ".")
		t.Run(name, func(t *testing.T) {
			c := byID[tc.id]
			data := c.DataWith(sampleEnv(tc.locale), tc.variant, Links{Unsubscribe: "https://shop.example/u/abc?x=1&y=2", Preferences: "https://shop.example/p/def"})
			r, err := Render(c, Channel(tc.channel), tc.locale, tc.variant, data)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("render", strings.TrimSuffix(name, ".")+".golden"), formatRendered(r))
		})
	}
}
