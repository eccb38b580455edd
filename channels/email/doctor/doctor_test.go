package doctor_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/dnstest"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/email/doctor"
	"github.com/tidings-crm/tidings/channels/smtptest"
)

// composed is a campaign message as Tidings composes it, with the
// unsubscribe link unsub.
func composed(t *testing.T, unsub string) []byte {
	t.Helper()
	m := &channels.Message{DeliveryID: 7, Campaign: "winter-sale", To: "ann@example.com", Subject: "Sale",
		Text: "Our sale", UnsubscribeURL: unsub}
	msg, err := email.Compose(m, email.Identity{From: "news@shop.example", MessageIDDomain: "shop.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDoctorGoodAndBadSetups: a domain with every record right, a message
// with one-click unsubscribe and a relay with STARTTLS pass every line; a
// domain with none, an http unsubscribe link and a relay without STARTTLS
// fail every line, each with how to fix it.
func TestDoctorGoodAndBadSetups(t *testing.T) {
	t.Parallel()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	record, err := email.DKIMRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherRecord, _ := email.DKIMRecord(other)
	resolver := dnstest.Start(t, map[string][]string{
		"shop.example":                         {"google-site-verification=abc", "v=spf1 include:_spf.relay.example ~all"},
		"bounce.shop.example":                  {"v=spf1 include:_spf.relay.example -all"},
		"tidings2026._domainkey.shop.example":  {record},
		"_dmarc.shop.example":                  {"v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example"},
		"bad.example":                          {"v=spf1 +all"},
		"tidings2026._domainkey.bad.example":   {otherRecord},
		"_dmarc.bad.example":                   {"v=DMARC1; p=maybe"},
		"twice.example":                        {"v=spf1 -all", "v=spf1 ~all"},
		"tidings2026._domainkey.twice.example": {"v=DKIM1; k=rsa; p="},
	}).Resolver()
	good := smtptest.Start(t, smtptest.WithTLS())
	plain := smtptest.Start(t)
	tlsCfg := &tls.Config{RootCAs: good.RootCAs(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	ctx := context.Background()

	checks := doctor.Run(ctx, doctor.Options{Domain: "shop.example", ReturnPathDomain: "bounce.shop.example",
		DKIMSelector: "tidings2026", DKIMKey: key, Message: composed(t, "https://tidings.shop.example/u/tok"),
		Relay: good.Addr(), TLSMode: email.TLSRequired, TLSConfig: tlsCfg, Resolver: resolver, Timeout: 5 * time.Second})
	if len(checks) != 6 {
		t.Fatalf("%d checks, want 6: %+v", len(checks), checks)
	}
	for _, c := range checks {
		if !c.OK || c.Detail == "" || c.Fix != "" {
			t.Errorf("good setup: %+v", c)
		}
	}

	bad := []struct {
		domain, unsub, relay string
		mode                 email.TLSMode
		want                 []string // a piece of each line's fix, in order
	}{
		{"bad.example", "http://localhost:8080/u/tok", plain.Addr(), email.TLSStartTLS,
			[]string{"~all or -all", "publish", "p= to none", "TIDINGS_PUBLIC_URL", "enable STARTTLS"}},
		{"twice.example", "", plain.Addr(), email.TLSImplicit,
			[]string{"merge them", "publish the TXT record", "publish one TXT record", "TIDINGS_PUBLIC_URL", "smtps://"}},
		{"none.example", "", "127.0.0.1:1", email.TLSStartTLS,
			[]string{"v=spf1 include", "publish the TXT record", "publish one TXT record _dmarc.none.example", "TIDINGS_PUBLIC_URL", "host and port"}},
	}
	for _, b := range bad {
		checks := doctor.Run(ctx, doctor.Options{Domain: b.domain, DKIMSelector: "tidings2026", DKIMKey: key,
			Message: composed(t, b.unsub), Relay: b.relay, TLSMode: b.mode, TLSConfig: tlsCfg, Resolver: resolver, Timeout: 5 * time.Second})
		if len(checks) != len(b.want) {
			t.Fatalf("%s: %d checks, want %d: %+v", b.domain, len(checks), len(b.want), checks)
		}
		for i, c := range checks {
			if c.OK || !strings.Contains(c.Fix, b.want[i]) {
				t.Errorf("%s: %s: ok=%v detail %q fix %q, want a failure whose fix says %q", b.domain, c.Name, c.OK, c.Detail, c.Fix, b.want[i])
			}
		}
	}
	// Without a key configured, DKIM says how to set one up.
	checks = doctor.Run(ctx, doctor.Options{Domain: "shop.example", Resolver: resolver})
	if len(checks) != 3 || checks[1].OK || !strings.Contains(checks[1].Fix, "TIDINGS_DKIM_KEY_FILE") {
		t.Errorf("no key: %+v", checks)
	}
}
