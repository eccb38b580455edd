package worker_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// TestDoubleOptIn: with double opt-in, a sign-up by API granting email
// consent grants nothing yet; the confirmation (examples/campaigns/
// confirm-signup.yaml) goes out through the real SMTP server although the
// customer has not consented, once however often the sign-up repeats; the
// link's request confirms the consent (history source double_opt_in) once;
// a suppressed address gets no confirmation; a customer who consented
// already is not asked; POST /v1/send refuses the confirmation campaign.
// On both databases.
func TestDoubleOptIn(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			c := exampleCampaign(t, "confirm-signup.yaml")
			urls := map[int64]int64{} // request id -> customer id, as the signed link carries them
			e := b.engineWith(t, worker.Options{DoubleOptIn: worker.DoubleOptIn{Campaign: c.ID,
				URL: func(r store.ConsentRequest) string {
					urls[r.ID] = r.CustomerID
					return fmt.Sprintf("https://news.example.com/confirm/%d-%d", r.ID, r.CustomerID)
				}}}, c)
			if err := e.CheckDoubleOptIn(); err != nil {
				t.Fatal(err)
			}
			if err := b.st.Suppress(ctx, "email", "gone@example.com", store.SuppressUnsubscribe, 0); err != nil {
				t.Fatal(err)
			}
			b.startWorker(t, e, 2)
			yes := true
			signup := func(ext, email string) []bool {
				t.Helper()
				em := email
				_, refused, confirming, err := e.UpsertProfiles(ctx, []store.CustomerInput{{ExternalID: ext, Email: &em, EmailConsent: &yes}})
				if err != nil || len(refused) > 0 {
					t.Fatalf("sign-up of %s: %v %v", ext, refused, err)
				}
				return confirming
			}
			if got := signup("ada", "ada@example.com"); !got[0] {
				t.Fatalf("ada's sign-up: confirming %v, want true", got)
			}
			ada, _ := b.st.CustomerByExternalID(ctx, "ada")
			if ada.EmailConsent {
				t.Fatal("ada consents before confirming")
			}
			msgs := b.smtp.WaitMessages(t, 1, 20*time.Second)
			link := regexp.MustCompile(`https://news\.example\.com/confirm/(\d+)-(\d+)`).FindStringSubmatch(string(msgs[0].Data))
			if link == nil || msgs[0].To[0] != "ada@example.com" {
				t.Fatalf("the confirmation to %v carries no link:\n%s", msgs[0].To, msgs[0].Data)
			}
			// The sign-up repeated (a retry, a second form post) asks nothing more.
			signup("ada", "ada@example.com")
			if got := signup("gone", "gone@example.com"); !got[0] {
				t.Fatalf("a suppressed sign-up is still a request: %v", got)
			}
			var reqID, custID int64
			fmt.Sscan(link[1], &reqID)
			fmt.Sscan(link[2], &custID)
			if custID != ada.ID {
				t.Fatalf("the link names customer %d, want ada (%d)", custID, ada.ID)
			}
			if _, err := e.ConfirmConsent(ctx, reqID, custID+1000); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("another customer's confirmation: %v, want not found", err)
			}
			if done, err := e.ConfirmConsent(ctx, reqID, custID); err != nil || !done {
				t.Fatalf("confirm: %v %v", done, err)
			}
			if done, err := e.ConfirmConsent(ctx, reqID, custID); err != nil || done {
				t.Fatalf("confirm again: %v %v, want nothing done", done, err)
			}
			ada, _ = b.st.CustomerByExternalID(ctx, "ada")
			hist, err := b.st.ConsentHistory(ctx, ada.ID)
			if err != nil || !ada.EmailConsent || len(hist) != 1 || hist[0].Source != store.ConsentDoubleOptIn || !hist[0].Granted {
				t.Fatalf("after confirming: consent %v, history %+v %v; want one grant by double_opt_in", ada.EmailConsent, hist, err)
			}
			if got := signup("ada", "ada@example.com"); got[0] {
				t.Fatal("a customer who consented is asked again")
			}
			if _, err := e.Send(ctx, worker.SendRequest{Campaign: c.ID, Customer: "ada", IdempotencyKey: "k"}); !errors.Is(err, worker.ErrNotTransactional) {
				t.Fatalf("POST /v1/send of the confirmation: %v, want refused", err)
			}
			b.waitIdle(t)
			if n := len(b.smtp.Messages()); n != 1 {
				t.Fatalf("%d messages, want 1 (ada's confirmation; none to the suppressed address, none for repeats)", n)
			}
			if !strings.Contains(string(msgs[0].Data), "confirm") || len(urls) != 2 {
				t.Fatalf("%d requests signed, want 2 (ada, gone)", len(urls))
			}
		})
	}
}
