package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// receiptCampaign is examples/campaigns/order-receipt.yaml, loaded.
func receiptCampaign(t testing.TB) *campaigns.Campaign {
	t.Helper()
	return exampleCampaign(t, "order-receipt.yaml")
}

// exampleCampaign is examples/campaigns/name, loaded.
func exampleCampaign(t testing.TB, name string) *campaigns.Campaign {
	t.Helper()
	path := filepath.Join("..", "examples", "campaigns", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, problems := campaigns.Parse(path, data)
	if campaigns.HasErrors(problems) {
		t.Fatalf("order-receipt.yaml: %v", problems)
	}
	return c
}

// TestTransactionalSend: POST /v1/send's engine side, end to end to the
// SMTP server on both databases: the example receipt renders the request's
// data and goes out once per idempotency key; a repeat answers the same
// delivery, another request under the key is refused; a suppressed address
// gets nothing; the transactional cap of the policy applies and the
// promotional one does not.
func TestTransactionalSend(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			promo := b.campaign(t, strings.Replace(newsletterYAML, "class: transactional", "class: promotional", 1))
			e := b.engine(t, receiptCampaign(t), promo)
			pol := filepath.Join(b.dir, "policy.yaml")
			if err := os.WriteFile(pol, []byte("caps:\n  email:\n    promotional: 1 per 7d\n    transactional: 3 per 24h\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if problems := e.LoadPolicy(pol); len(problems) > 0 {
				t.Fatal(problems)
			}
			b.addCustomers(t, 2, nil)
			if err := b.st.Suppress(ctx, "email", "customer2@example.com", store.SuppressUnsubscribe, 0); err != nil {
				t.Fatal(err)
			}
			// c1 used its promotional slot: receipts are not counted against it.
			c1, _ := b.st.CustomerByExternalID(ctx, "c1")
			if _, err := b.st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: promo.ID, CustomerID: c1.ID,
				Occurrence: "w1", Channel: "email", Status: store.StatusSent, CappedClass: true}}, time.Now()); err != nil {
				t.Fatal(err)
			}
			b.startWorker(t, e, 2)
			send := func(key, customer, data string) (worker.SendAnswer, error) {
				return e.Send(ctx, worker.SendRequest{Campaign: "order-receipt", Customer: customer,
					Data: json.RawMessage(data), IdempotencyKey: key})
			}
			first, err := send("receipt-A-1001", "c1", `{"order_id": "A-1001", "total": "84.50 EUR", "items": [{"quantity": 2, "name": "Blue mug"}]}`)
			if err != nil || first.Status != store.StatusPending || first.Duplicate {
				t.Fatalf("send: %+v %v, want a pending row", first, err)
			}
			msgs := b.smtp.WaitMessages(t, 1, 20*time.Second)
			if body := string(msgs[0].Data); !strings.Contains(body, "A-1001") || !strings.Contains(body, "2 x Blue mug") {
				t.Fatalf("the receipt does not render the request's data:\n%s", body)
			}
			again, err := send("receipt-A-1001", "c1", `{"items": [{"name": "Blue mug", "quantity": 2}], "total": "84.50 EUR", "order_id": "A-1001"}`)
			if err != nil || again.DeliveryID != first.DeliveryID || !again.Duplicate {
				t.Fatalf("repeat: %+v %v, want delivery %d again", again, err, first.DeliveryID)
			}
			if _, err := send("receipt-A-1001", "c1", `{"order_id": "A-1002"}`); !errors.Is(err, worker.ErrKeyReused) {
				t.Fatalf("the key with other data: %v, want ErrKeyReused", err)
			}
			if sup, err := send("receipt-B-1", "c2", `{"order_id": "B-1"}`); err != nil || sup.Status != store.StatusSuppressed {
				t.Fatalf("to a suppressed address: %+v %v, want suppressed", sup, err)
			}
			for _, k := range []string{"receipt-A-2", "receipt-A-3"} {
				if a, err := send(k, "c1", `{"order_id": "x"}`); err != nil || a.Status != store.StatusPending {
					t.Fatalf("send %s: %+v %v", k, a, err)
				}
			}
			if a, err := send("receipt-A-4", "c1", `{"order_id": "x"}`); err != nil || a.Status != store.StatusCapped ||
				!strings.Contains(string(a.Reason), "3 email transactional per 1d") {
				t.Fatalf("a fourth receipt in a day: %+v %v, want capped by the transactional cap", a, err)
			}
			b.smtp.WaitMessages(t, 3, 20*time.Second)
			if _, err := e.Send(ctx, worker.SendRequest{Campaign: promo.ID, Customer: "c1", IdempotencyKey: "p"}); !errors.Is(err, worker.ErrNotTransactional) {
				t.Fatalf("a promotional campaign by API: %v, want ErrNotTransactional", err)
			}
			if _, err := send("k", "nobody", ""); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("an unknown customer: %v, want ErrNotFound", err)
			}
		})
	}
}
