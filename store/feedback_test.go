package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// sentRows writes n sent email rows of campaign, one per new customer
// (ext prefix i), with provider ids "<campaign>.<i>@shop.example", and
// returns their ids.
func sentRows(t *testing.T, st *store.Store, campaign string, n int, channel channels.Name) []int64 {
	t.Helper()
	ctx := context.Background()
	var rows []store.NewDelivery
	for i := range n {
		ext := fmt.Sprintf("%s-%d", campaign, i)
		id := insertConsentCustomer(t, st, ext, ext+"@example.com", fmt.Sprintf("+3361%07d", i))
		rows = append(rows, store.NewDelivery{CampaignID: campaign, CustomerID: id, Occurrence: "o", Channel: channel,
			Variant: "a", Status: store.StatusSent})
	}
	ins, err := st.InsertDeliveries(ctx, rows, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(ins))
	for i, r := range ins {
		ids[i] = r.ID
		if _, err := st.DB.Exec(st.DB.Rebind(`UPDATE deliveries SET provider_id = ?, sent_at = ? WHERE id = ?`),
			fmt.Sprintf("%s.%d@shop.example", campaign, i), time.Now().UTC(), r.ID); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func count(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB.Get(&n, st.DB.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestRecordFeedbackHardBounceOnce(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			ids := sentRows(t, st, "welcome", 2, channels.Email)
			f := store.Feedback{Provider: "ses", EventID: "sns-1", Type: store.FeedbackHardBounce, Channel: channels.Email,
				ProviderMessageID: "welcome.1@shop.example", Address: "Welcome-1@example.com",
				Diagnostic: "smtp; 550 5.1.1 <welcome-1@example.com>: Recipient address rejected"}
			res, err := st.RecordFeedback(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if res.Duplicate || res.DeliveryID != ids[1] || !res.Suppressed || res.Event != store.EventEmailBounced {
				t.Fatalf("result = %+v", res)
			}
			d, err := st.Delivery(ctx, ids[1])
			if err != nil {
				t.Fatal(err)
			}
			var fb struct {
				Type, Provider, Text string
			}
			if err := st.DB.QueryRow(st.DB.Rebind(`SELECT feedback, feedback_provider, feedback_text FROM deliveries WHERE id = ?`),
				d.ID).Scan(&fb.Type, &fb.Provider, &fb.Text); err != nil {
				t.Fatal(err)
			}
			if fb.Type != "hard_bounce" || fb.Provider != "ses" || !strings.Contains(fb.Text, "550 5.1.1 <<address>>") {
				t.Fatalf("row feedback = %+v", fb)
			}
			if strings.Contains(storetest.Dump(t, st, "delivery_feedback"), "welcome-1@") {
				t.Fatal("the bounce text keeps the address in clear")
			}
			sup, err := st.SuppressionFor(ctx, channels.Email, "welcome-1@example.com")
			if err != nil || sup.Reason != store.SuppressHardBounce || sup.CustomerID == 0 {
				t.Fatalf("suppression = %+v, %v", sup, err)
			}
			evs, err := st.CustomerEvents(ctx, sup.CustomerID, store.EventEmailBounced, 10)
			if err != nil || len(evs) != 1 || !strings.Contains(strings.ReplaceAll(string(evs[0].Properties), " ", ""), `"bounce":"hard"`) {
				t.Fatalf("events = %+v, %v", evs, err)
			}
			// The provider retries its callback: nothing changes.
			again, err := st.RecordFeedback(ctx, f)
			if err != nil || !again.Duplicate || again.Suppressed || again.Event != "" {
				t.Fatalf("replay = %+v, %v", again, err)
			}
			if n := count(t, st, `SELECT count(*) FROM events WHERE type = 'email_bounced'`); n != 1 {
				t.Fatalf("%d bounce events after a replay, want 1", n)
			}
			if n := count(t, st, `SELECT count(*) FROM delivery_feedback`); n != 1 {
				t.Fatalf("%d feedback rows after a replay, want 1", n)
			}
			// The other row is untouched.
			if n := count(t, st, `SELECT count(*) FROM deliveries WHERE feedback = '' AND id = ?`, ids[0]); n != 1 {
				t.Fatal("the other delivery got the bounce")
			}
		})
	}
}

func TestRecordFeedbackRanksAndComplaints(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			ids := sentRows(t, st, "promo", 1, channels.Email)
			for i, typ := range []store.FeedbackType{store.FeedbackDelivered, store.FeedbackComplaint, store.FeedbackDelivered} {
				res, err := st.RecordFeedback(ctx, store.Feedback{Provider: "sendgrid", EventID: fmt.Sprint("e", i), Type: typ,
					Channel: channels.Email, DeliveryID: ids[0]})
				if err != nil || res.DeliveryID != ids[0] {
					t.Fatalf("%s: %+v, %v", typ, res, err)
				}
				if typ == store.FeedbackDelivered && (res.Event != "" || res.Suppressed) {
					t.Fatalf("a delivery receipt wrote an event or suppressed: %+v", res)
				}
			}
			// The complaint stays on the row; the address (the customer's,
			// the report named none) is suppressed as a complaint.
			if n := count(t, st, `SELECT count(*) FROM deliveries WHERE id = ? AND feedback = 'complaint'`, ids[0]); n != 1 {
				t.Fatal("a later delivery receipt replaced the complaint")
			}
			sup, err := st.SuppressionFor(ctx, channels.Email, "promo-0@example.com")
			if err != nil || sup.Reason != store.SuppressComplaint {
				t.Fatalf("suppression = %+v, %v", sup, err)
			}
			if n := count(t, st, `SELECT count(*) FROM events WHERE type = 'email_complained'`); n != 1 {
				t.Fatalf("%d complaint events, want 1", n)
			}
			// An SMS receipt cannot be about an email row, and a report that
			// matches nothing is still recorded and still suppresses.
			res, err := st.RecordFeedback(ctx, store.Feedback{Provider: "mailgun", EventID: "x", Type: store.FeedbackHardBounce,
				Channel: channels.Email, ProviderMessageID: "unknown@shop.example", Address: "gone@example.com"})
			if err != nil || res.DeliveryID != 0 || !res.Suppressed {
				t.Fatalf("unmatched = %+v, %v", res, err)
			}
			if _, err := st.RecordFeedback(ctx, store.Feedback{Provider: "x", EventID: "y", Type: "opened", Channel: "email"}); !errors.Is(err, store.ErrBadFeedback) {
				t.Fatalf("unknown type: %v, want ErrBadFeedback", err)
			}
		})
	}
}

func TestSoftBouncesAndUndeliverableNumbers(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if err := st.SetFeedbackPolicy(store.FeedbackPolicy{SoftBounceLimit: 3, SoftBounceWindow: 48 * time.Hour,
				ComplaintRate: 0.001, HardBounceRate: 0.05, MinSample: 1000}); err != nil {
				t.Fatal(err)
			}
			ids := sentRows(t, st, "soft", 4, channels.Email)
			base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			// Three soft bounces of one address, the first outside the
			// window of the last: only the fourth suppresses.
			for i, at := range []time.Duration{0, 30 * time.Hour, 60 * time.Hour, 70 * time.Hour} {
				res, err := st.RecordFeedback(ctx, store.Feedback{Provider: "postmark", EventID: fmt.Sprint("soft", i),
					Type: store.FeedbackSoftBounce, Channel: channels.Email, DeliveryID: ids[i], Address: "same@example.com",
					OccurredAt: base.Add(at)})
				if err != nil {
					t.Fatal(err)
				}
				if want := i == 3; res.Suppressed != want {
					t.Fatalf("soft bounce %d: suppressed %v, want %v", i, res.Suppressed, want)
				}
			}
			sms := sentRows(t, st, "sms", 2, channels.SMS)
			res, err := st.RecordFeedback(ctx, store.Feedback{Provider: "twilio", EventID: "SM1", Type: store.FeedbackUndelivered,
				Channel: channels.SMS, DeliveryID: sms[0], Diagnostic: "30005"})
			if err != nil || res.Suppressed || res.Event != store.EventSMSUndelivered {
				t.Fatalf("a transient undelivered: %+v, %v", res, err)
			}
			res, err = st.RecordFeedback(ctx, store.Feedback{Provider: "twilio", EventID: "SM2", Type: store.FeedbackUndelivered,
				Channel: channels.SMS, DeliveryID: sms[1], Permanent: true, Diagnostic: "30006"})
			if err != nil || !res.Suppressed {
				t.Fatalf("an undeliverable number: %+v, %v", res, err)
			}
			if sup, _ := st.IsSuppressed(ctx, channels.SMS, "+33610000001"); !sup {
				t.Fatal("the undeliverable number is not suppressed")
			}
		})
	}
}

func TestComplaintRatePausesCampaign(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if err := st.SetFeedbackPolicy(store.FeedbackPolicy{SoftBounceLimit: 3, SoftBounceWindow: time.Hour,
				ComplaintRate: 0.02, HardBounceRate: 0.05, MinSample: 50}); err != nil {
				t.Fatal(err)
			}
			ids := sentRows(t, st, "storm", 100, channels.Email)
			complain := func(i int) store.FeedbackResult {
				t.Helper()
				res, err := st.RecordFeedback(ctx, store.Feedback{Provider: "ses", EventID: fmt.Sprint("c", i),
					Type: store.FeedbackComplaint, Channel: channels.Email, DeliveryID: ids[i]})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			// 2 of 100 is 2%: not past 2%. The third is.
			for i := range 2 {
				if res := complain(i); res.Paused != "" {
					t.Fatalf("complaint %d paused: %s", i, res.Paused)
				}
			}
			res := complain(2)
			want := "paused by the safety: complaint rate 3% (3 of 100 sent) passed 2%"
			if res.Paused != want {
				t.Fatalf("third complaint: paused %q, want %q", res.Paused, want)
			}
			paused, err := st.PausedCampaigns(ctx)
			if err != nil || !paused["storm"] {
				t.Fatalf("paused = %v, %v", paused, err)
			}
			if reasons, err := st.PauseReasons(ctx); err != nil || reasons["storm"] != want {
				t.Fatalf("reasons = %v, %v", reasons, err)
			}
			// The operator resumes it: the safety does not pause it again.
			if err := st.SetPaused(ctx, "storm", false, time.Now()); err != nil {
				t.Fatal(err)
			}
			if res := complain(3); res.Paused != "" {
				t.Fatalf("paused again after the operator resumed it: %s", res.Paused)
			}
			if reasons, _ := st.PauseReasons(ctx); len(reasons) != 0 {
				t.Fatalf("reasons after resume = %v", reasons)
			}
		})
	}
}

// A provider's bounce report is told to the outgoing webhooks
// (message.bounced) in the transaction that records it, once however often
// the provider retries; a complaint is not a bounce.
func TestBounceReportGoesToOutgoingWebhooks(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			st.SetHookRoutes(store.HookRoutes{store.HookMessageBounced: {"crm"}})
			ids := sentRows(t, st, "welcome", 2, channels.Email)
			bounce := store.Feedback{Provider: "ses", EventID: "sns-b", Type: store.FeedbackHardBounce, Channel: channels.Email,
				ProviderMessageID: "welcome.1@shop.example", Diagnostic: "smtp; 550 5.1.1 user unknown"}
			for range 2 {
				if _, err := st.RecordFeedback(ctx, bounce); err != nil {
					t.Fatal(err)
				}
			}
			complaint := store.Feedback{Provider: "ses", EventID: "sns-c", Type: store.FeedbackComplaint, Channel: channels.Email,
				ProviderMessageID: "welcome.0@shop.example"}
			if _, err := st.RecordFeedback(ctx, complaint); err != nil {
				t.Fatal(err)
			}
			var rows []struct {
				Type    string `db:"event_type"`
				Payload string `db:"payload"`
			}
			if err := st.DB.SelectContext(ctx, &rows, `SELECT event_type, payload FROM webhook_outbox`); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Type != store.HookMessageBounced {
				t.Fatalf("outbox = %+v, want one message.bounced", rows)
			}
			p := strings.ReplaceAll(rows[0].Payload, " ", "")
			for _, want := range []string{`"feedback":"hard_bounce"`, `"provider":"ses"`, fmt.Sprintf(`"delivery_id":%d`, ids[1]), `550`} {
				if !strings.Contains(p, want) {
					t.Errorf("payload %s lacks %s", rows[0].Payload, want)
				}
			}
		})
	}
}
