package unsubscribe_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

// consent is what an inbound SMS may change for one number: the customer's
// SMS consent and the number's suppression.
type consent struct{ sms, suppressed bool }

func (b *bundle) consentOf(t *testing.T, id int64, phone string) consent {
	t.Helper()
	c, err := b.st.CustomerByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	sup, err := b.st.IsSuppressed(t.Context(), "sms", phone)
	if err != nil {
		t.Fatal(err)
	}
	return consent{sms: c.SMSConsent, suppressed: sup}
}

// TestForgedInboundSMSChangesNothing posts inbound SMS that do not come from
// the generic provider: unsigned, signed with another secret, a body changed
// after signing, a copy of a real request replayed after the 5-minute
// tolerance, and one replayed within it (after a START, so that it would
// flip consent back). Each is answered 401 or 403 and the customer's consent
// in the database is what the genuine requests made it. Both databases.
func TestForgedInboundSMSChangesNothing(t *testing.T) {
	t.Parallel()
	const phone = "+33700000010"
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, nil)
			id := b.customer(t, "a", "a@example.com", phone, true)
			stop := smsForm(phone, "STOP").Encode()
			subscribed := consent{sms: true}
			forged := []struct {
				name    string
				headers map[string]string
				want    int
			}{
				{"unsigned", nil, http.StatusUnauthorized},
				{"another secret", b.sign(t, "whsec_b3RoZXItc2VjcmV0LW9mLWFuLWF0dGFja2Vy", "msg_x1", time.Now(), stop), http.StatusUnauthorized},
				{"signature of another body", b.sign(t, testInboundSecret, "msg_x2", time.Now(), smsForm(phone, "HELP").Encode()), http.StatusUnauthorized},
				{"garbage signature", map[string]string{"webhook-id": "msg_x3", "webhook-timestamp": "1700000000",
					"webhook-signature": "v1,AAAA"}, http.StatusUnauthorized},
				{"replayed after 6 minutes", b.sign(t, testInboundSecret, "msg_x4", time.Now().Add(-6*time.Minute), stop), http.StatusUnauthorized},
				{"Twilio signature instead", map[string]string{"X-Twilio-Signature": unsubscribe.TwilioSignature(testInboundSecret,
					b.srv.URL+"/v1/sms/inbound", smsForm(phone, "STOP"))}, http.StatusUnauthorized},
			}
			for _, f := range forged {
				if status, _ := b.post(t, stop, f.headers); status != f.want {
					t.Errorf("%s: status %d, want %d", f.name, status, f.want)
				}
				if got := b.consentOf(t, id, phone); got != subscribed {
					t.Fatalf("%s changed consent: %+v", f.name, got)
				}
			}

			// A genuine STOP, then a genuine START: then the STOP captured on
			// the wire is sent again, within the tolerance.
			genuine := b.sign(t, testInboundSecret, "msg_stop", time.Now(), stop)
			if status, replies := b.post(t, stop, genuine); status != http.StatusOK || len(replies) != 1 {
				t.Fatalf("signed STOP: %d %q", status, replies)
			}
			if got := b.consentOf(t, id, phone); got != (consent{suppressed: true}) {
				t.Fatalf("after a signed STOP: %+v", got)
			}
			if status, _ := b.inbound(t, smsForm(phone, "START"), ""); status != http.StatusOK {
				t.Fatalf("signed START: %d", status)
			}
			if status, _ := b.post(t, stop, genuine); status != http.StatusForbidden {
				t.Errorf("replayed STOP: status %d, want 403", status)
			}
			if got := b.consentOf(t, id, phone); got != subscribed {
				t.Fatalf("the replayed STOP changed consent: %+v", got)
			}
		})
	}
}

// TestReplayedTwilioRequestChangesNothing replays a request Twilio signed
// (its signature has no timestamp: the MessageSid tells the copy) after the
// customer opted back in: 403, consent unchanged.
func TestReplayedTwilioRequestChangesNothing(t *testing.T) {
	t.Parallel()
	const token, phone = "twilio-auth-token", "+33700000011"
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, func(o *unsubscribe.Options) { o.TwilioAuthToken, o.InboundSecret = token, "" })
			id := b.customer(t, "a", "a@example.com", phone, true)
			url := b.srv.URL + "/v1/sms/inbound"
			stop, start := smsForm(phone, "STOP"), smsForm(phone, "START")
			start.Set("MessageSid", "SM"+strings.Repeat("1", 32))
			for _, f := range []map[string]string{nil, {"X-Twilio-Signature": unsubscribe.TwilioSignature("guess", url, stop)}} {
				if status, _ := b.post(t, stop.Encode(), f); status != http.StatusForbidden {
					t.Fatalf("forged Twilio request: status %d, want 403", status)
				}
			}
			if got := b.consentOf(t, id, phone); got != (consent{sms: true}) {
				t.Fatalf("forged Twilio requests changed consent: %+v", got)
			}
			stopSig := unsubscribe.TwilioSignature(token, url, stop)
			for _, step := range []struct {
				form   string
				sig    string
				status int
				want   consent
			}{
				{stop.Encode(), stopSig, http.StatusOK, consent{suppressed: true}},
				{start.Encode(), unsubscribe.TwilioSignature(token, url, start), http.StatusOK, consent{sms: true}},
				{stop.Encode(), stopSig, http.StatusForbidden, consent{sms: true}}, // the replay
			} {
				if status, _ := b.post(t, step.form, map[string]string{"X-Twilio-Signature": step.sig}); status != step.status {
					t.Fatalf("status %d, want %d", status, step.status)
				}
				if got := b.consentOf(t, id, phone); got != step.want {
					t.Fatalf("consent %+v, want %+v", got, step.want)
				}
			}
		})
	}
}

// TestInboundNeedsACredential: without a credential the inbound endpoint is
// not served (a STOP from anyone is not honoured, nor a START); with both a
// Twilio token and a secret the handler refuses to start.
func TestInboundNeedsACredential(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite, func(o *unsubscribe.Options) { o.InboundSecret = "" })
	id := b.customer(t, "a", "a@example.com", "+33700000012", true)
	if status, _ := b.post(t, smsForm("+33700000012", "STOP").Encode(), nil); status != http.StatusNotFound {
		t.Fatalf("inbound without a credential: status %d, want 404", status)
	}
	if got := b.consentOf(t, id, "+33700000012"); got != (consent{sms: true}) {
		t.Fatalf("consent changed: %+v", got)
	}
	st := storetest.Open(t, store.SQLite)
	for name, o := range map[string]unsubscribe.Options{
		"both credentials": {TwilioAuthToken: "t", InboundSecret: testInboundSecret},
		"not a secret":     {InboundSecret: "hunter2"},
	} {
		o.Store, o.Signer = st, unsubscribe.Signer{Key: testKey}
		if _, err := unsubscribe.Handler(o); err == nil {
			t.Errorf("%s: Handler succeeded", name)
		}
	}
}
