package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

// dayEvent is one event of a generated day, as the shop posts it.
type dayEvent struct {
	id   string
	body []byte // {"type", "customer", "time", "properties"}
	typ  string
	cust string
	at   time.Time
	cart float64 // a cart's total
}

// generateDay makes a day of mixed events for customers c1..cN, ending an
// hour before end: sign-ups, product views, carts (totals 20 to 150) and
// purchases, some within the hour after the customer's cart (the cart is
// not abandoned), some after it, some before it.
func generateDay(rng *rand.Rand, customers int, end time.Time) []dayEvent {
	start := end.Add(-20 * time.Hour)
	var out []dayEvent
	add := func(typ, cust string, at time.Time, props map[string]any) {
		b, _ := json.Marshal(map[string]any{"type": typ, "customer": cust, "time": at.Format(time.RFC3339), "properties": props})
		ev := dayEvent{id: fmt.Sprintf("%s-%s-%d", typ, cust, len(out)), body: b, typ: typ, cust: cust, at: at}
		if v, ok := props["total"].(float64); ok {
			ev.cart = v
		}
		out = append(out, ev)
	}
	for i := 1; i <= customers; i++ {
		cust := fmt.Sprintf("c%d", i)
		at := func() time.Time { return start.Add(time.Duration(rng.IntN(17*3600)) * time.Second) }
		if rng.IntN(3) == 0 {
			add("signup", cust, at(), map[string]any{"source": "web"})
		}
		for range rng.IntN(5) {
			add("product_viewed", cust, at(), map[string]any{"sku": fmt.Sprintf("P%d", rng.IntN(40))})
		}
		if rng.IntN(4) == 0 {
			continue // no cart today
		}
		cartAt := at()
		total := float64(20 + rng.IntN(131))
		add("cart_updated", cust, cartAt, map[string]any{"total": total, "currency": "EUR", "items": 1 + rng.IntN(5)})
		order := map[string]any{"order_id": "o-" + cust, "amount": total, "currency": "EUR"}
		switch rng.IntN(4) {
		case 0: // bought within the hour: not abandoned
			add("purchase", cust, cartAt.Add(time.Duration(1+rng.IntN(3599))*time.Second), order)
		case 1: // bought later: the reminder was due before
			add("purchase", cust, cartAt.Add(time.Duration(61+rng.IntN(120))*time.Minute), order)
		case 2: // bought before the cart
			add("purchase", cust, cartAt.Add(-time.Duration(1+rng.IntN(120))*time.Minute), order)
		}
	}
	slices.SortFunc(out, func(a, b dayEvent) int { return a.at.Compare(b.at) })
	return out
}

// replayBundle is one database the day is replayed into, through the real
// HTTP handler, with each request's reactions run as soon as it is answered.
type replayBundle struct {
	b   *bundle
	e   *worker.Engine
	srv *httptest.Server
}

func newReplay(t *testing.T, dialect store.Dialect, now time.Time, customers int) *replayBundle {
	t.Helper()
	b := setup(t, dialect)
	b.clock = &fakeClock{t: now}
	raw, err := os.ReadFile("testdata/cart-reminder.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cart := b.campaign(t, string(raw))
	e := b.engine(t, cart)
	b.addCustomers(t, customers, nil)
	h, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: evSecret, Store: b.st, Logger: quietLogger(), Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &replayBundle{b: b, e: e, srv: srv}
}

// post sends events under webhook-id id (a batch when there are several)
// and runs the reaction of each: again for a repeat, which must change
// nothing.
func (r *replayBundle) post(t *testing.T, id string, evs []dayEvent) {
	t.Helper()
	path, body := triggers.PathEvents, evs[0].body
	if len(evs) > 1 {
		items := make([]json.RawMessage, len(evs))
		for i, ev := range evs {
			var m map[string]any
			_ = json.Unmarshal(ev.body, &m)
			m["id"] = ev.id
			items[i], _ = json.Marshal(m)
		}
		path, body = triggers.PathEventsBatch, mustJSON(t, map[string]any{"events": items})
	}
	req, err := triggers.SignedRequest(context.Background(), evSecret, r.srv.URL+path, id, r.b.clock.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		t.Fatalf("post %s: %s %s", id, resp.Status, answer)
	}
	for _, ev := range evs {
		if err := r.e.ProcessEvent(context.Background(), ev.id); err != nil {
			t.Fatalf("react to %s: %v", ev.id, err)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dumpLog is the events log and the ledger as text, keyed by what the shop
// and the campaign name (never by the database's own ids or clocks).
func (r *replayBundle) dumpLog(t *testing.T) (events, ledger []string) {
	t.Helper()
	ctx := context.Background()
	rows, err := r.b.st.DB.QueryContext(ctx, `SELECT e.event_id, c.external_id, e.type, e.occurred_at, e.properties
		FROM events e JOIN customers c ON c.id = e.customer_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, cust, typ string
		var at time.Time
		var props []byte
		if err := rows.Scan(&id, &cust, &typ, &at, &props); err != nil {
			t.Fatal(err)
		}
		var p any
		_ = json.Unmarshal(props, &p)
		events = append(events, fmt.Sprintf("%s %s %s %s %v", id, cust, typ, at.UTC().Format(time.RFC3339), p))
	}
	rows.Close()
	rows, err = r.b.st.DB.QueryContext(ctx, `SELECT d.campaign_id, c.external_id, d.occurrence, d.status, d.error,
		d.event_id FROM deliveries d JOIN customers c ON c.id = d.customer_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var camp, cust, occ, status, reason, ev string
		if err := rows.Scan(&camp, &cust, &occ, &status, &reason, &ev); err != nil {
			t.Fatal(err)
		}
		ledger = append(ledger, strings.Join([]string{camp, cust, occ, status, reason, ev}, " "))
	}
	rows.Close()
	slices.Sort(events)
	slices.Sort(ledger)
	return events, ledger
}

// TestEventDayReplayIsOrderFree replays a generated day of mixed events
// (carts, views, sign-ups, purchases) through the events API into two
// databases of each kind: once cleanly, in time order, one request per
// event; once shuffled, every event sent twice, some in batches. The events
// log and the ledger of a one-message cart reminder (testdata/cart-reminder.yaml) are the same, and
// the reminders go to exactly the carts over 50 that no purchase followed
// within the hour.
func TestEventDayReplayIsOrderFree(t *testing.T) {
	t.Parallel()
	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			const customers = 40
			now := time.Now().UTC().Truncate(time.Second)
			rng := rand.New(rand.NewPCG(16, 2026))
			day := generateDay(rng, customers, now.Add(-time.Hour))

			clean := newReplay(t, dialect, now, customers)
			for _, ev := range day {
				clean.post(t, ev.id, []dayEvent{ev})
			}
			messy := newReplay(t, dialect, now, customers)
			twice := append(slices.Clone(day), day...)
			rng.Shuffle(len(twice), func(i, j int) { twice[i], twice[j] = twice[j], twice[i] })
			for i := 0; i < len(twice); {
				n := 1 + rng.IntN(4)*rng.IntN(2) // mostly single events, some batches of 2 or 3
				n = min(n, len(twice)-i)
				batch := twice[i : i+n]
				if n > 1 && slices.ContainsFunc(batch[1:], func(e dayEvent) bool { return e.id == batch[0].id }) {
					n, batch = 1, batch[:1]
				}
				id := batch[0].id
				if n > 1 {
					id = fmt.Sprintf("batch-%d", i)
				}
				messy.post(t, id, batch)
				i += n
			}

			cleanEvents, cleanLedger := clean.dumpLog(t)
			messyEvents, messyLedger := messy.dumpLog(t)
			if len(cleanEvents) != len(day) {
				t.Fatalf("clean pass stored %d events, want %d", len(cleanEvents), len(day))
			}
			if !slices.Equal(cleanEvents, messyEvents) {
				t.Fatalf("events log differs:\nclean %d: %v\nmessy %d: %v", len(cleanEvents), cleanEvents, len(messyEvents), messyEvents)
			}
			if !slices.Equal(cleanLedger, messyLedger) {
				t.Fatalf("ledger differs:\nclean: %s\nmessy: %s", strings.Join(cleanLedger, "\n"), strings.Join(messyLedger, "\n"))
			}
			want, got := abandoned(day), waitingCarts(cleanLedger)
			if len(want) == 0 || !slices.Equal(want, got) {
				t.Fatalf("reminders for %v, want exactly the abandoned carts %v", got, want)
			}
			cancelled := len(cleanLedger) - len(got)
			if cancelled == 0 {
				t.Fatal("no reminder was cancelled: the day has no cart followed by a purchase")
			}
			t.Logf("%d events, %d sent in the messy pass (each twice); %d reminders planned, %d cancelled by a purchase",
				len(day), len(twice), len(got), cancelled)
		})
	}
}

// abandoned lists the ids of the carts over 50 not followed by their
// customer's purchase within the hour: the reminders the campaign owes.
func abandoned(day []dayEvent) []string {
	var out []string
	for _, c := range day {
		if c.typ != "cart_updated" || c.cart <= 50 {
			continue
		}
		followed := slices.ContainsFunc(day, func(p dayEvent) bool {
			return p.typ == "purchase" && p.cust == c.cust && !p.at.Before(c.at) && !p.at.After(c.at.Add(time.Hour))
		})
		if !followed {
			out = append(out, c.id)
		}
	}
	slices.Sort(out)
	return out
}

// waitingCarts lists the triggering event of each ledger row still to be
// sent (not cancelled).
func waitingCarts(ledger []string) []string {
	var out []string
	for _, row := range ledger {
		f := strings.Fields(row)
		if f[3] != string(store.StatusCancelled) {
			out = append(out, f[len(f)-1])
		}
	}
	slices.Sort(out)
	return out
}
