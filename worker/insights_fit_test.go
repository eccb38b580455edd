package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestRefreshFlagsADegenerateFit: a base with no heterogeneity at all
// (everyone buys every 30 days and never stops) leaves the count model's
// parameters at the edge of the search box; the refresh still scores
// everyone with finite forecasts, and says so in its report instead of
// silently.
func TestRefreshFlagsADegenerateFit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	var in []store.PurchaseInput
	for c := 0; c < 200; c++ {
		first := handNow.AddDate(0, 0, -400+c)
		for k := 0; first.AddDate(0, 0, 30*k).Before(handNow); k++ {
			in = append(in, store.PurchaseInput{OrderID: fmt.Sprintf("d%d-%d", c, k), CustomerExternalID: fmt.Sprintf("d%d", c),
				AmountCents: 5000, OccurredAt: first.AddDate(0, 0, 30*k)})
		}
	}
	if _, err := st.UpsertPurchases(ctx, in); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	rep, err := RefreshInsights(ctx, st, handNow, InsightsOptions{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s, warnings %q", time.Since(started), rep.Models.CountParams(), rep.Warnings)
	if !rep.Fitted || rep.Customers != 200 {
		t.Fatalf("refreshed %d customers, fitted %v", rep.Customers, rep.Fitted)
	}
	flagged := false
	for _, w := range rep.Warnings {
		flagged = flagged || strings.Contains(w, rep.Models.Kind.String()+" fit") && strings.Contains(w, "edge of its search box")
		if strings.Contains(w, "non-finite") {
			t.Errorf("a degenerate fit gave non-finite forecasts: %q", w)
		}
	}
	if !flagged {
		t.Errorf("the report should flag the degenerate %s fit; warnings %q", rep.Models.Kind, rep.Warnings)
	}
}
