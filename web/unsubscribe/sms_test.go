package unsubscribe_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

// twiml is the part of a TwiML answer the tests read.
type twiml struct {
	XMLName  xml.Name `xml:"Response"`
	Messages []string `xml:"Message"`
}

// inbound posts an inbound message as the bundle's provider sends it: signed
// with the generic provider's Standard Webhooks headers (a fresh id, the
// current time) when the bundle has an inbound secret, else with the given
// X-Twilio-Signature. It returns the status and the reply messages.
func (b *bundle) inbound(t *testing.T, form url.Values, signature string) (int, []string) {
	t.Helper()
	body := form.Encode()
	headers := map[string]string{}
	if b.secret != "" {
		headers = b.sign(t, b.secret, fmt.Sprintf("msg_%d", b.nextID.Add(1)), time.Now(), body)
	} else if signature != "" {
		headers["X-Twilio-Signature"] = signature
	}
	return b.post(t, body, headers)
}

// sign returns the Standard Webhooks headers of body under secret.
func (b *bundle) sign(t *testing.T, secret, id string, at time.Time, body string) map[string]string {
	t.Helper()
	h, err := triggers.SignHeaders(secret, id, at, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// post sends a form body with the given headers to the inbound endpoint.
func (b *bundle) post(t *testing.T, body string, headers map[string]string) (int, []string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/v1/sms/inbound", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Fatalf("Content-Type = %q, want text/xml", ct)
	}
	var tw twiml
	if err := xml.NewDecoder(resp.Body).Decode(&tw); err != nil {
		t.Fatalf("reply is not TwiML: %v", err)
	}
	return resp.StatusCode, tw.Messages
}

func smsForm(from, body string) url.Values {
	return url.Values{"From": {from}, "To": {"+15005550006"}, "Body": {body}, "MessageSid": {"SM" + strings.Repeat("0", 32)}}
}

func TestParseKeyword(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]unsubscribe.Keyword{
		"STOP": unsubscribe.KeywordStop, "stop ": unsubscribe.KeywordStop, "Stop.": unsubscribe.KeywordStop,
		" \tStOp!!\n": unsubscribe.KeywordStop, "opt   out": unsubscribe.KeywordStop, "Arrêt": unsubscribe.KeywordStop,
		"stopall": unsubscribe.KeywordStop, "revoke": unsubscribe.KeywordStop, "OPTOUT": unsubscribe.KeywordStop,
		"start": unsubscribe.KeywordStart, "Unstop": unsubscribe.KeywordStart, "yes!": unsubscribe.KeywordStart,
		"help?": unsubscribe.KeywordHelp, "INFO": unsubscribe.KeywordHelp,
		"please stop": unsubscribe.KeywordNone, "stopped": unsubscribe.KeywordNone, "": unsubscribe.KeywordNone,
		"thanks 👍": unsubscribe.KeywordNone, "...": unsubscribe.KeywordNone,
	} {
		if got := unsubscribe.ParseKeyword(body); got != want {
			t.Errorf("ParseKeyword(%q) = %v, want %v", body, got, want)
		}
	}
}

// TestInboundKeywords is reliability scenario 20: each keyword has exactly
// the database effect it should and gets at most one reply.
func TestInboundKeywords(t *testing.T) {
	t.Parallel()
	type effect struct {
		suppressed, consent bool
		replies             int
		replyHas            string
	}
	stopped := effect{suppressed: true, consent: false, replies: 1, replyHas: "unsubscribed"}
	cases := []struct {
		body      string
		optedOut  bool // the number starts suppressed with consent cleared
		want      effect
		wantAgain effect // the same message sent a second time
	}{
		{body: "STOP", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "stop ", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "Stop.", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "UNSUBSCRIBE", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "CANCEL", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "END", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "QUIT", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "REVOKE", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "OPT OUT", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "ARRET", want: stopped, wantAgain: effect{suppressed: true}},
		{body: "HELP", want: effect{consent: true, replies: 1, replyHas: "help@acme.example"},
			wantAgain: effect{consent: true, replies: 1, replyHas: "STOP"}},
		{body: "START", optedOut: true, want: effect{consent: true, replies: 1, replyHas: "subscribed"},
			wantAgain: effect{consent: true, replies: 1, replyHas: "subscribed"}},
		{body: "Thanks, see you soon", want: effect{consent: true}, wantAgain: effect{consent: true}},
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, nil)
			ctx := t.Context()
			for i, c := range cases {
				phone := fmt.Sprintf("+1415555%04d", i)
				id := b.customer(t, fmt.Sprintf("c%d", i), fmt.Sprintf("c%d@example.com", i), phone, true)
				if c.optedOut {
					if err := b.st.Suppress(ctx, "sms", phone, store.SuppressStop, id); err != nil {
						t.Fatal(err)
					}
					if err := b.st.SetConsent(ctx, id, "sms", false, store.ConsentAdmin); err != nil {
						t.Fatal(err)
					}
				}
				for round, want := range []effect{c.want, c.wantAgain} {
					status, replies := b.inbound(t, smsForm(phone, c.body), "")
					if status != http.StatusOK {
						t.Fatalf("%q round %d: status %d", c.body, round, status)
					}
					sup, err := b.st.IsSuppressed(ctx, "sms", phone)
					if err != nil {
						t.Fatal(err)
					}
					cust, err := b.st.CustomerByID(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					got := effect{suppressed: sup, consent: cust.SMSConsent, replies: len(replies), replyHas: want.replyHas}
					if got != want || (want.replyHas != "" && !strings.Contains(replies[0], want.replyHas)) {
						t.Fatalf("%q round %d: got %+v replies %q, want %+v", c.body, round, got, replies, want)
					}
					if !cust.EmailConsent {
						t.Fatalf("%q round %d: email consent was cleared by an SMS keyword", c.body, round)
					}
				}
			}
			// Every STOP variant wrote exactly one "stop" suppression.
			var n int
			if err := b.st.DB.Get(&n, `SELECT count(*) FROM suppressions WHERE channel = 'sms' AND reason = 'stop'`); err != nil || n != 10 {
				t.Fatalf("stop suppressions = %d, %v; want 10", n, err)
			}
		})
	}
}

func TestInboundStopSharedAndUnknownNumbers(t *testing.T) {
	t.Parallel()
	b := setup(t, store.Postgres, nil)
	a := b.customer(t, "a", "a@example.com", "+447700900123", true)
	c := b.customer(t, "c", "c@example.com", "+447700900123", true)
	other := b.customer(t, "o", "o@example.com", "+447700900999", true)
	if status, replies := b.inbound(t, smsForm("+447700900123", "stop"), ""); status != http.StatusOK || len(replies) != 1 {
		t.Fatalf("STOP = %d %q", status, replies)
	}
	// A number no customer has is suppressed all the same.
	if status, replies := b.inbound(t, smsForm("+447700900555", "STOP"), ""); status != http.StatusOK || len(replies) != 1 {
		t.Fatalf("STOP from unknown number = %d %q", status, replies)
	}
	want := fmt.Sprintf("suppressed sms +447700900123 stop %d\nsuppressed sms +447700900555 stop 0\n"+
		"customer %d email=true sms=false\ncustomer %d email=true sms=false\ncustomer %d email=true sms=true\n",
		a, a, c, other)
	if got := b.state(t); got != want {
		t.Fatalf("state:\n%swant:\n%s", got, want)
	}
	if status, _ := b.inbound(t, url.Values{"Body": {"STOP"}}, ""); status != http.StatusBadRequest {
		t.Fatalf("inbound without From = %d, want 400", status)
	}
}

func TestInboundProviderConfirms(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite, func(o *unsubscribe.Options) { o.ProviderConfirms = true })
	id := b.customer(t, "a", "a@example.com", "+33700000001", true)
	for _, body := range []string{"STOP", "HELP"} {
		if status, replies := b.inbound(t, smsForm("+33700000001", body), ""); status != http.StatusOK || len(replies) != 0 {
			t.Fatalf("%s with ProviderConfirms = %d %q, want 200 and no reply", body, status, replies)
		}
	}
	want := fmt.Sprintf("suppressed sms +33700000001 stop %d\ncustomer %d email=true sms=false\n", id, id)
	if got := b.state(t); got != want {
		t.Fatalf("state:\n%swant:\n%s", got, want)
	}
}

// TestTwilioSignatureKnownVector checks the algorithm against the example
// in Twilio's security documentation.
func TestTwilioSignatureKnownVector(t *testing.T) {
	t.Parallel()
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	got := unsubscribe.TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if want := "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Fatalf("TwilioSignature = %q, want %q", got, want)
	}
}

func TestInboundTwilioSignature(t *testing.T) {
	t.Parallel()
	const token = "twilio-auth-token"
	b := setup(t, store.SQLite, func(o *unsubscribe.Options) {
		o.TwilioAuthToken, o.InboundSecret = token, ""
		o.PublicURL = "https://hooks.example.com/"
	})
	b.customer(t, "a", "a@example.com", "+33700000002", true)
	form := smsForm("+33700000002", "STOP")
	valid := unsubscribe.TwilioSignature(token, "https://hooks.example.com/v1/sms/inbound", form)
	wrongURL := unsubscribe.TwilioSignature(token, "https://evil.example.com/v1/sms/inbound", form)
	wrongKey := unsubscribe.TwilioSignature("other", "https://hooks.example.com/v1/sms/inbound", form)
	before := b.state(t)
	for name, sig := range map[string]string{"missing": "", "wrong url": wrongURL, "wrong key": wrongKey, "garbage": "abc"} {
		if status, _ := b.inbound(t, form, sig); status != http.StatusForbidden {
			t.Fatalf("%s signature: status %d, want 403", name, status)
		}
	}
	if after := b.state(t); after != before {
		t.Fatalf("unsigned requests changed the database:\n%s", after)
	}
	// A body changed after signing fails too.
	tampered := smsForm("+33700000002", "START")
	if status, _ := b.inbound(t, tampered, valid); status != http.StatusForbidden {
		t.Fatalf("tampered body: status %d, want 403", status)
	}
	if status, replies := b.inbound(t, form, valid); status != http.StatusOK || len(replies) != 1 {
		t.Fatalf("valid signature: %d %q", status, replies)
	}
	if sup, _ := b.st.IsSuppressed(t.Context(), "sms", "+33700000002"); !sup {
		t.Fatal("signed STOP did not suppress the number")
	}
}
