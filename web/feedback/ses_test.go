package feedback_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/feedback"
)

// fakeSNS is an https server in the role of SNS: it serves a self-made
// signing certificate and counts subscription confirmations; sign signs a
// message with its key as SNS does.
type fakeSNS struct {
	srv       *httptest.Server
	key       *rsa.PrivateKey
	confirmed atomic.Int32
	certGets  atomic.Int32
}

func newFakeSNS(t *testing.T) *fakeSNS {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.us-east-1.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	f := &fakeSNS{key: key}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, ".pem"):
			f.certGets.Add(1)
			w.Write(pemCert)
		case r.URL.Query().Get("Action") == "ConfirmSubscription":
			f.confirmed.Add(1)
			w.Write([]byte("<ConfirmSubscriptionResponse/>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSNS) certURL() string {
	return f.srv.URL + "/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
}

// options trusts the fake's host as an SNS host.
func (f *fakeSNS) options() feedback.SESOptions {
	host := strings.Split(strings.TrimPrefix(f.srv.URL, "https://"), ":")[0]
	return feedback.SESOptions{Enabled: true, Client: f.srv.Client(), CertHost: func(h string) bool { return h == host }}
}

// snsEnvelope is an SNS message as posted, the fields of SNS's documented
// example.
type snsEnvelope struct {
	Type             string
	MessageID        string `json:"MessageId"`
	Token            string `json:",omitempty"`
	TopicArn         string
	Subject          string `json:",omitempty"`
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	SubscribeURL     string `json:",omitempty"`
	UnsubscribeURL   string `json:",omitempty"`
}

// sign signs m as SNS does (version 1: SHA1withRSA, 2: SHA256withRSA).
func (f *fakeSNS) sign(t *testing.T, m *snsEnvelope) []byte {
	t.Helper()
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == "Notification" {
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
	} else {
		add("SubscribeURL", m.SubscribeURL)
	}
	add("Timestamp", m.Timestamp)
	if m.Type != "Notification" {
		add("Token", m.Token)
	}
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	var (
		sig []byte
		err error
	)
	if m.SignatureVersion == "1" {
		sum := sha1.Sum([]byte(b.String())) //nolint:gosec // as SNS signs
		sig, err = rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA1, sum[:])
	} else {
		sum := sha256.Sum256([]byte(b.String()))
		sig, err = rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// snsTime is the documented example's SNS timestamp; the receivers' clock
// stands a minute later.
const snsTime = "2016-01-27T15:00:38.237Z"

func notification(f *fakeSNS, id, message, version string) *snsEnvelope {
	return &snsEnvelope{Type: "Notification", MessageID: id, TopicArn: "arn:aws:sns:us-east-1:123456789012:ses-feedback",
		Message: message, Timestamp: snsTime, SignatureVersion: version, SigningCertURL: f.certURL(),
		UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}
}

func TestSESBounceAndComplaintThroughSNS(t *testing.T) {
	t.Parallel()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			sns := newFakeSNS(t)
			now, _ := time.Parse(time.RFC3339, snsTime)
			b := setup(t, d, feedback.Options{SES: sns.options()}, now.Add(time.Minute))
			jane := b.sent(t, "welcome", "jane", "jane@example.com", "", channels.Email, "")
			richard := b.sent(t, "welcome", "richard", "richard@example.com", "", channels.Email, "")

			// SES's documented bounce, about the message Tidings sent Jane.
			bounce := fixture(t, "ses-bounce.json", "custom-message-ID", "tidings."+itoa(jane)+"@shop.example")
			body := sns.sign(t, notification(sns, "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", string(bounce), "1"))
			if code, out := b.post(t, feedback.PathSES, body, nil); code != 200 || !strings.Contains(out, `"recorded":1`) {
				t.Fatalf("bounce: %d %s", code, out)
			}
			if fb := b.feedbackOf(t, jane); fb != "hard_bounce" {
				t.Fatalf("jane's row feedback = %q", fb)
			}
			if r := b.suppressed(t, channels.Email, "jane@example.com"); r != store.SuppressHardBounce {
				t.Fatalf("jane suppressed for %q", r)
			}
			// SNS delivers it again: nothing changes.
			if code, out := b.post(t, feedback.PathSES, body, nil); code != 200 || !strings.Contains(out, `"duplicates":1`) {
				t.Fatalf("replay: %d %s", code, out)
			}
			if n := b.count(t, `SELECT count(*) FROM events WHERE type = 'email_bounced'`); n != 1 {
				t.Fatalf("%d bounce events, want 1", n)
			}

			complaint := fixture(t, "ses-complaint.json", "custom-message-ID", "tidings."+itoa(richard)+"@shop.example")
			forged := notification(sns, "f0e0d0c0-1111-2222-3333-444455556666", string(complaint), "2")
			forgedBody := sns.sign(t, forged)
			// Altered after signing (the recipient swapped): refused.
			tampered := strings.Replace(string(forgedBody), "richard@example.com", "mary@example.com", 1)
			if code, _ := b.post(t, feedback.PathSES, []byte(tampered), nil); code != http.StatusForbidden {
				t.Fatalf("tampered: %d, want 403", code)
			}
			if r := b.suppressed(t, channels.Email, "mary@example.com"); r != "" {
				t.Fatalf("a forged complaint suppressed mary (%s)", r)
			}
			if code, out := b.post(t, feedback.PathSES, forgedBody, nil); code != 200 || !strings.Contains(out, `"recorded":1`) {
				t.Fatalf("complaint (SignatureVersion 2): %d %s", code, out)
			}
			if fb := b.feedbackOf(t, richard); fb != "complaint" {
				t.Fatalf("richard's row feedback = %q", fb)
			}
			if sns.certGets.Load() != 1 {
				t.Fatalf("the certificate was fetched %d times, want once (cached)", sns.certGets.Load())
			}
		})
	}
}

func TestSNSRefusals(t *testing.T) {
	t.Parallel()
	sns := newFakeSNS(t)
	now, _ := time.Parse(time.RFC3339, snsTime)
	b := setup(t, store.SQLite, feedback.Options{SES: sns.options()}, now.Add(time.Minute))
	bounce := string(fixture(t, "ses-bounce.json"))
	cases := []struct {
		name   string
		change func(m *snsEnvelope)
	}{
		{"certificate over http", func(m *snsEnvelope) { m.SigningCertURL = strings.Replace(m.SigningCertURL, "https", "http", 1) }},
		{"certificate off SNS", func(m *snsEnvelope) { m.SigningCertURL = "https://evil.example/cert.pem" }},
		{"not a pem", func(m *snsEnvelope) { m.SigningCertURL = strings.TrimSuffix(m.SigningCertURL, ".pem") + ".txt" }},
		{"two hours old", func(m *snsEnvelope) { m.Timestamp = "2016-01-27T13:00:38.237Z" }},
		{"unknown signature version", func(m *snsEnvelope) { m.SignatureVersion = "3" }},
	}
	for _, c := range cases {
		m := notification(sns, "id-"+c.name, bounce, "1")
		c.change(m)
		if code, out := b.post(t, feedback.PathSES, sns.sign(t, m), nil); code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", c.name, code, out)
		}
	}
	// The default host check trusts only SNS's own hosts.
	def, _, err := feedback.Handler(feedback.Options{Store: b.st, SES: feedback.SESOptions{Enabled: true},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, feedback.PathSES, strings.NewReader(string(sns.sign(t, notification(sns, "x", bounce, "1")))))
	rec := httptest.NewRecorder()
	def.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "sns.<region>.amazonaws.com") {
		t.Fatalf("default host check: %d %s", rec.Code, rec.Body.String())
	}
	if n := b.count(t, `SELECT count(*) FROM delivery_feedback`); n != 0 {
		t.Fatalf("%d reports recorded from refused messages", n)
	}
}

func TestSNSSubscriptionConfirmation(t *testing.T) {
	t.Parallel()
	sns := newFakeSNS(t)
	now, _ := time.Parse(time.RFC3339, snsTime)
	b := setup(t, store.SQLite, feedback.Options{SES: sns.options()}, now)
	subscribe := sns.srv.URL + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape("arn:aws:sns:us-east-1:123456789012:ses-feedback") + "&Token=2336412f37"
	m := &snsEnvelope{Type: "SubscriptionConfirmation", MessageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", Token: "2336412f37",
		TopicArn:     "arn:aws:sns:us-east-1:123456789012:ses-feedback",
		Message:      "You have chosen to subscribe to the topic arn:aws:sns:us-east-1:123456789012:ses-feedback.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: subscribe, Timestamp: snsTime, SignatureVersion: "1", SigningCertURL: sns.certURL()}
	if code, out := b.post(t, feedback.PathSES, sns.sign(t, m), nil); code != 200 || sns.confirmed.Load() != 1 {
		t.Fatalf("confirmation: %d %s, confirmed %d", code, out, sns.confirmed.Load())
	}
	// A confirmation whose SubscribeURL leaves SNS is not followed.
	m.MessageID, m.SubscribeURL = "other", "https://evil.example/?Action=ConfirmSubscription"
	if code, _ := b.post(t, feedback.PathSES, sns.sign(t, m), nil); code != http.StatusBadGateway && code != http.StatusForbidden {
		t.Fatalf("foreign SubscribeURL: %d", code)
	}
	if sns.confirmed.Load() != 1 {
		t.Fatal("a foreign SubscribeURL was visited")
	}
}
