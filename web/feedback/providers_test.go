package feedback_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/web/feedback"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

func TestSendGridEventWebhook(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1513299600, 0)
	b := setup(t, store.SQLite, feedback.Options{SendGridKey: base64.StdEncoding.EncodeToString(der)}, now)
	id := b.sent(t, "promo", "ex", "example@test.com", "", channels.Email, "")
	// SendGrid's documented example batch, about the message Tidings sent.
	body := fixture(t, "sendgrid-events.json", "<14c5d75ce93.dfd.64b469@ismtpd-555>", "<tidings."+itoa(id)+"@shop.example>")
	sign := func(ts string, body []byte) map[string]string {
		sum := sha256.Sum256(append([]byte(ts), body...))
		sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{feedback.HeaderSendGridTimestamp: ts, feedback.HeaderSendGridSignature: base64.StdEncoding.EncodeToString(sig)}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	headers := sign(ts, body)
	// Forged: another body under the signature, or an old signed batch.
	if code, _ := b.post(t, feedback.PathSendGrid, []byte(strings.Replace(string(body), "spamreport", "delivered", 1)), headers); code != http.StatusUnauthorized {
		t.Fatalf("altered body: %d, want 401", code)
	}
	old := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	if code, _ := b.post(t, feedback.PathSendGrid, body, sign(old, body)); code != http.StatusUnauthorized {
		t.Fatalf("hour-old signature: %d, want 401", code)
	}
	if code, _ := b.post(t, feedback.PathSendGrid, body, nil); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d, want 401", code)
	}
	if n := b.count(t, `SELECT count(*) FROM delivery_feedback`); n != 0 {
		t.Fatalf("%d reports from refused callbacks", n)
	}
	// delivered, bounce and spamreport are recorded; processed, deferred
	// and open are not tracked here.
	code, out := b.post(t, feedback.PathSendGrid, body, headers)
	if code != 200 || !strings.Contains(out, `"recorded":3`) || !strings.Contains(out, `"ignored":3`) {
		t.Fatalf("batch: %d %s", code, out)
	}
	if fb := b.feedbackOf(t, id); fb != "complaint" {
		t.Fatalf("row feedback = %q, want complaint", fb)
	}
	if r := b.suppressed(t, channels.Email, "example@test.com"); r != store.SuppressHardBounce {
		t.Fatalf("suppressed for %q, want hard_bounce (the first report)", r)
	}
	// The same batch again (SendGrid retries): duplicates only.
	if code, out := b.post(t, feedback.PathSendGrid, body, headers); code != 200 || !strings.Contains(out, `"duplicates":3`) {
		t.Fatalf("retry: %d %s", code, out)
	}
}

func TestPostmarkWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite, feedback.Options{PostmarkUser: "postmark", PostmarkPassword: "s3cret-webhook-pass"}, time.Now())
	john := b.sent(t, "news", "john", "john@example.com", "", channels.Email, "883953f4-6105-42a2-a16a-77a8eac79483")
	auth := func(user, pass string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
	}
	bounce := fixture(t, "postmark-bounce.json")
	if code, _ := b.post(t, feedback.PathPostmark, bounce, auth("postmark", "wrong")); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", code)
	}
	if code, _ := b.post(t, feedback.PathPostmark, bounce, nil); code != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d, want 401", code)
	}
	if code, out := b.post(t, feedback.PathPostmark, bounce, auth("postmark", "s3cret-webhook-pass")); code != 200 || !strings.Contains(out, `"recorded":1`) {
		t.Fatalf("bounce: %d %s", code, out)
	}
	if fb := b.feedbackOf(t, john); fb != "hard_bounce" {
		t.Fatalf("john's row = %q", fb)
	}
	// The spam complaint names the delivery through the metadata Tidings set.
	spam := fixture(t, "postmark-spam.json", `"a_key" : "a_value"`, `"tidings-delivery": "`+itoa(john)+`"`)
	if code, out := b.post(t, feedback.PathPostmark, spam, auth("postmark", "s3cret-webhook-pass")); code != 200 || !strings.Contains(out, `"recorded":1`) {
		t.Fatalf("spam complaint: %d %s", code, out)
	}
	if fb := b.feedbackOf(t, john); fb != "complaint" {
		t.Fatalf("john's row after the complaint = %q", fb)
	}
	if r := b.suppressed(t, channels.Email, "john@example.com"); r != store.SuppressHardBounce {
		t.Fatalf("suppressed for %q (the first reason stays)", r)
	}
}

func TestMailgunWebhook(t *testing.T) {
	t.Parallel()
	const key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	now := time.Unix(1529006854, 0).Add(30 * time.Second)
	b := setup(t, store.SQLite, feedback.Options{MailgunKey: key}, now)
	alice := b.sent(t, "promo", "alice", "alice@example.com", "", channels.Email,
		"20130503182626.18666.16540@sandbox8f4b1e0e0d0c4d2a8e0c6f1e9b8d7c6a.mailgun.org")
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("1529006854a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"))
	good := hex.EncodeToString(mac.Sum(nil))
	// Mailgun's documented example carries a signature under Mailgun's key,
	// not this one: forged here.
	body := fixture(t, "mailgun-failed.json")
	if code, _ := b.post(t, feedback.PathMailgun, body, nil); code != http.StatusUnauthorized {
		t.Fatalf("foreign signature: %d, want 401", code)
	}
	signed := fixture(t, "mailgun-failed.json", "d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55", good)
	if code, out := b.post(t, feedback.PathMailgun, signed, nil); code != 200 || !strings.Contains(out, `"recorded":1`) {
		t.Fatalf("signed: %d %s", code, out)
	}
	if fb := b.feedbackOf(t, alice); fb != "hard_bounce" {
		t.Fatalf("alice's row = %q", fb)
	}
	// The same signed request again: its token was used.
	if code, _ := b.post(t, feedback.PathMailgun, signed, nil); code != http.StatusForbidden {
		t.Fatalf("replay: %d, want 403", code)
	}
	if n := b.count(t, `SELECT count(*) FROM delivery_feedback`); n != 1 {
		t.Fatalf("%d reports, want 1", n)
	}
	// A signature older than the window is refused even with a new token.
	late := setup(t, store.SQLite, feedback.Options{MailgunKey: key}, now.Add(time.Hour))
	if code, _ := late.post(t, feedback.PathMailgun, signed, nil); code != http.StatusUnauthorized {
		t.Fatalf("stale: %d, want 401", code)
	}
}

func TestTwilioStatusCallbacks(t *testing.T) {
	t.Parallel()
	const token = "12345678901234567890123456789012"
	b := setup(t, store.SQLite, feedback.Options{TwilioAuthToken: token, PublicURL: "https://tidings.example.com"}, time.Now())
	dead := b.sent(t, "sms-promo", "d", "", "+14155550100", channels.SMS, "SM1a2b3c")
	ok := b.sent(t, "sms-promo", "o", "", "+14155550101", channels.SMS, "SM4d5e6f")
	callback := func(sid, to, status, code string, forge bool) int {
		form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {"AC123"}, "MessageStatus": {status},
			"SmsStatus": {status}, "To": {to}, "From": {"+14155550199"}, "ApiVersion": {"2010-04-01"}}
		if code != "" {
			form.Set("ErrorCode", code)
		}
		sig := unsubscribe.TwilioSignature(token, "https://tidings.example.com"+feedback.PathTwilio, form)
		if forge {
			form.Set("ErrorCode", "30003")
		}
		c, _ := b.post(t, feedback.PathTwilio, []byte(form.Encode()), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
		return c
	}
	if c := callback("SM4d5e6f", "+14155550101", "undelivered", "30008", true); c != http.StatusForbidden {
		t.Fatalf("altered callback: %d, want 403", c)
	}
	if c := callback("SM4d5e6f", "+14155550101", "delivered", "", false); c != 200 {
		t.Fatalf("delivered: %d", c)
	}
	if c := callback("SM1a2b3c", "+14155550100", "undelivered", "30006", false); c != 200 {
		t.Fatalf("undelivered: %d", c)
	}
	if fb := b.feedbackOf(t, ok); fb != "delivered" {
		t.Fatalf("delivered row = %q", fb)
	}
	if fb := b.feedbackOf(t, dead); fb != "undelivered" {
		t.Fatalf("undelivered row = %q", fb)
	}
	if r := b.suppressed(t, channels.SMS, "+14155550100"); r != store.SuppressHardBounce {
		t.Fatalf("landline (30006) suppressed for %q", r)
	}
	if r := b.suppressed(t, channels.SMS, "+14155550101"); r != "" {
		t.Fatalf("delivered number suppressed for %q", r)
	}
	// Replayed: recorded once.
	if c := callback("SM1a2b3c", "+14155550100", "undelivered", "30006", false); c != 200 {
		t.Fatalf("replay: %d", c)
	}
	if n := b.count(t, `SELECT count(*) FROM events WHERE type = 'sms_undelivered'`); n != 1 {
		t.Fatalf("%d undelivered events, want 1", n)
	}
}

func TestGenericSMSReceipts(t *testing.T) {
	t.Parallel()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Now()
	b := setup(t, store.SQLite, feedback.Options{SMSSecret: secret}, now)
	row := b.sent(t, "sms-promo", "g", "", "+33612345678", channels.SMS, "gw-77")
	body := []byte(`{"id": "gw-77", "status": "undelivered", "error": "absent subscriber", "permanent": true}`)
	headers, err := triggers.SignHeaders(secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := b.post(t, feedback.PathSMS, []byte(strings.Replace(string(body), "true", "false", 1)), headers); code != http.StatusUnauthorized {
		t.Fatalf("altered: %d, want 401", code)
	}
	stale, _ := triggers.SignHeaders(secret, "msg_old", now.Add(-time.Hour), body)
	if code, _ := b.post(t, feedback.PathSMS, body, stale); code != http.StatusUnauthorized {
		t.Fatalf("stale: %d, want 401", code)
	}
	if code, out := b.post(t, feedback.PathSMS, body, headers); code != 200 || !strings.Contains(out, `"recorded":1`) {
		t.Fatalf("receipt: %d %s", code, out)
	}
	if code, out := b.post(t, feedback.PathSMS, body, headers); code != 200 || !strings.Contains(out, `"duplicates":1`) {
		t.Fatalf("replay: %d %s", code, out)
	}
	if fb := b.feedbackOf(t, row); fb != "undelivered" {
		t.Fatalf("row = %q", fb)
	}
	if r := b.suppressed(t, channels.SMS, "+33612345678"); r != store.SuppressHardBounce {
		t.Fatalf("suppressed for %q", r)
	}
}
