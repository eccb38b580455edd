package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// answerEvent is what triggers.Answers builds for an answer: an inbox row
// and its event, under the survey's event id.
func answerEvent(ans store.SurveyAnswer, ext string) func(int) store.InboxEvent {
	return func(rev int) store.InboxEvent {
		id := store.SurveyEventID(ans.DeliveryID, rev)
		props := fmt.Sprintf(`{"score": %d, "delivery": %d}`, ans.Score, ans.DeliveryID)
		return store.InboxEvent{EventID: id, EventType: ans.Kind + "_answered", ReceivedAt: ans.At, ExternalID: ext,
			Payload: []byte(`{"id":"` + id + `"}`),
			Event:   &store.EventInput{Type: ans.Kind + "_answered", OccurredAt: ans.At, Properties: []byte(props)}}
	}
}

// TestAnswerSurveyOnceAndReplaced: on both databases, a first answer sets
// the customer's nps and writes one event; the same score again writes
// nothing; another score replaces it (the answer row's revision 2, a second
// event, nps updated); a CSAT answer sets csat and leaves nps; a customer
// never surveyed reads -1. The daily and per-campaign counts count each
// message's latest answer once.
func TestAnswerSurveyOnceAndReplaced(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "ann"}, {ExternalID: "bob"}}); err != nil {
				t.Fatal(err)
			}
			ann, _ := st.CustomerByExternalID(ctx, "ann")
			bob, _ := st.CustomerByExternalID(ctx, "bob")
			if ann.NPS != -1 || ann.CSAT != -1 {
				t.Fatalf("never answered: nps %d csat %d, want -1 -1", ann.NPS, ann.CSAT)
			}
			t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
			answer := func(delivery int64, kind string, score int, at time.Time) store.AnswerResult {
				t.Helper()
				a := store.SurveyAnswer{DeliveryID: delivery, CustomerID: ann.ID, CampaignID: "nps", Kind: kind,
					Score: score, Via: "link", At: at}
				res, err := st.AnswerSurvey(ctx, a, answerEvent(a, "ann"))
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			events := func(typ string) []store.StoredEvent {
				t.Helper()
				evs, err := st.CustomerEvents(ctx, ann.ID, typ, 100)
				if err != nil {
					t.Fatal(err)
				}
				return evs
			}
			if r := answer(1, "nps", 3, t0); !r.Changed || r.Revision != 1 || r.EventID != "survey:1:1" {
				t.Fatalf("first answer: %+v", r)
			}
			if r := answer(1, "nps", 3, t0.Add(time.Minute)); r.Changed {
				t.Fatalf("the same click again changed something: %+v", r)
			}
			if got := len(events("nps_answered")); got != 1 {
				t.Fatalf("%d events after a repeated click, want 1", got)
			}
			if r := answer(1, "nps", 9, t0.Add(time.Hour)); !r.Changed || r.Revision != 2 || r.EventID != "survey:1:2" {
				t.Fatalf("a new answer: %+v", r)
			}
			evs := events("nps_answered")
			var props struct{ Score int }
			if len(evs) != 2 || json.Unmarshal(evs[1].Properties, &props) != nil || props.Score != 9 {
				t.Fatalf("events after a new answer: %+v", evs)
			}
			answer(2, "csat", 2, t0.Add(25*time.Hour))
			got, _ := st.CustomerByExternalID(ctx, "ann")
			if got.NPS != 9 || got.CSAT != 2 {
				t.Errorf("ann: nps %d csat %d, want 9 2", got.NPS, got.CSAT)
			}
			if b, _ := st.CustomerByID(ctx, bob.ID); b.NPS != -1 {
				t.Errorf("bob, never asked: nps %d, want -1", b.NPS)
			}
			a, err := st.SurveyAnswerOf(ctx, 1)
			if err != nil || a.Score != 9 || a.Revision != 2 || a.Kind != "nps" {
				t.Errorf("answer row: %+v %v", a, err)
			}
			if _, err := st.SurveyAnswerOf(ctx, 99); err != store.ErrNotFound {
				t.Errorf("no answer: %v, want ErrNotFound", err)
			}
			days, err := st.ScoresByDay(ctx, "nps", t0.Add(-24*time.Hour), t0.Add(48*time.Hour))
			if err != nil || len(days) != 1 || days[0].Score != 9 || days[0].N != 1 || !days[0].Day.Equal(t0.Truncate(24*time.Hour)) {
				t.Errorf("nps by day: %+v %v", days, err)
			}
			camps, err := st.ScoresByCampaign(ctx, "csat", "", t0, t0.Add(48*time.Hour))
			if err != nil || len(camps) != 1 || camps[0].Campaign != "nps" || camps[0].Score != 2 || camps[0].N != 1 {
				t.Errorf("csat by campaign: %+v %v", camps, err)
			}
		})
	}
}

// TestSentToListsRecentSendsNewestFirst: the SMS sends an inbound reply may
// answer are the customer's sent SMS since the window's start, newest first.
func TestSentToListsRecentSendsNewestFirst(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			phone, mail, yes := "+33600000001", "ann@example.com", true
			if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "ann", Phone: &phone, Email: &mail,
				SMSConsent: &yes, EmailConsent: &yes}}); err != nil {
				t.Fatal(err)
			}
			ann, _ := st.CustomerByExternalID(ctx, "ann")
			t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
			var ids []int64
			for i, ch := range []channels.Name{channels.SMS, channels.SMS, channels.Email} {
				in, err := st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: "c", CustomerID: ann.ID,
					Occurrence: fmt.Sprint(i), Channel: ch, Status: store.StatusPending}}, t0)
				if err != nil {
					t.Fatal(err)
				}
				at := t0.Add(time.Duration(i) * 24 * time.Hour)
				addr := map[channels.Name]string{channels.SMS: phone, channels.Email: mail}[ch]
				storetest.Claim(t, st, in[0].ID, "tok", addr, at)
				if ok, err := st.FinishDelivery(ctx, in[0].ID, "tok", store.StatusSent, "", "", at); !ok || err != nil {
					t.Fatal(ok, err)
				}
				ids = append(ids, in[0].ID)
			}
			sent, err := st.SentTo(ctx, []int64{ann.ID}, channels.SMS, t0.Add(time.Hour), 10)
			if err != nil || len(sent) != 1 || sent[0].ID != ids[1] {
				t.Fatalf("SMS since t0+1h: %v %v, want only delivery %d", sent, err, ids[1])
			}
			sent, _ = st.SentTo(ctx, []int64{ann.ID}, channels.SMS, t0, 10)
			if len(sent) != 2 || sent[0].ID != ids[1] || sent[1].ID != ids[0] {
				t.Errorf("SMS since t0: %v, want %d then %d", sent, ids[1], ids[0])
			}
		})
	}
}
