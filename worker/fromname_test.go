package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/outbox"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// fromNameYAML names its sender at every level: the campaign's default, the
// campaign's French, the "team" variant's default and the variant's German.
const fromNameYAML = `id: from-name
name: Spring
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
variants:
  - {id: plain}
  - id: team
    messages:
      email:
        from_name: "Équipe {{ .campaign.name }}"
        locales:
          de: {from_name: "Das Team"}
messages:
  email:
    from_name: 'Café "Chez Lou"'
    subject: "Hello"
    text: "Hello {{ .external_id }}"
    locales:
      fr:
        from_name: "La boutique de {{ .first_name }}"
        subject: "Bonjour"
        text: "Bonjour {{ .external_id }}"
`

// fromNameWant is the display name a customer of locale and variant must
// see, by the documented precedence (variant locale, campaign locale,
// variant default, campaign default), and which level it comes from.
func fromNameWant(locale, variant string) (name, level string) {
	switch {
	case variant == "team" && locale == "de":
		return "Das Team", "variant locale"
	case strings.HasPrefix(locale, "fr"):
		return "La boutique de Zoé", "campaign locale"
	case variant == "team":
		return "Équipe Spring", "variant"
	}
	return `Café "Chez Lou"`, "campaign"
}

// TestFromNameReachesTheFromHeader runs a campaign whose from_name is set at
// campaign, locale and variant level through the worker, and reads the From
// header of every message as it arrived: raw MIME at the SMTP server, and
// the .eml files of the outbox. Each customer sees the name of their locale
// and variant (non-ASCII names RFC 2047-encoded, the quotes kept), always at
// the configured sender address, never the configured default name.
func TestFromNameReachesTheFromHeader(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		for _, sink := range []string{"smtp", "outbox"} {
			t.Run(string(dialect)+"/"+sink, func(t *testing.T) {
				t.Parallel()
				testFromName(t, dialect, sink)
			})
		}
	}
}

func testFromName(t *testing.T, dialect store.Dialect, sink string) {
	b := setup(t, dialect)
	locales := []string{"en", "fr-CA", "de"}
	b.addCustomers(t, 24, func(i int, c *store.CustomerInput) {
		name := "Zoé"
		c.Locale, c.FirstName = &locales[i%3], &name
	})
	// The channel's own name is "Tidings", as TIDINGS_SMTP_FROM's default.
	var box *outbox.Outbox
	if sink == "smtp" {
		cfg, err := email.ParseURL(b.smtp.URL())
		if err != nil {
			t.Fatal(err)
		}
		cfg.From, cfg.FromName, cfg.Logger = "shop@tidings.test", "Tidings", quietLogger()
		sender, err := email.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sender.Close() })
		b.chans["email"] = sender
	} else {
		var err error
		box, err = outbox.New(filepath.Join(b.dir, "outbox"), email.Identity{From: "shop@tidings.test", FromName: "Tidings"})
		if err != nil {
			t.Fatal(err)
		}
		b.chans["email"] = box.Email()
	}
	c := b.campaign(t, fromNameYAML)
	e := b.engine(t, c)
	b.startWorker(t, e, 4)
	if err := e.Enqueue(context.Background(), c.ID, "k1", time.Now()); err != nil {
		t.Fatal(err)
	}
	b.waitRun(t, c.ID, "k1", 30*time.Second)

	rows := b.deliveries(t, c.ID)
	raw := map[string][]byte{} // by recipient
	if sink == "smtp" {
		for _, m := range b.smtp.WaitMessages(t, len(rows), 10*time.Second) {
			raw[m.To[0]] = m.Data
		}
	}
	seen := map[string]bool{}
	for ext, d := range rows {
		if d.Status != store.StatusSent {
			t.Fatalf("%s: status %s (%s), want sent", ext, d.Status, d.Error)
		}
		i := 0
		fmt.Sscanf(ext, "c%d", &i)
		to := fmt.Sprintf("customer%d@example.com", i)
		data := raw[to]
		if sink == "outbox" {
			var err error
			if data, err = os.ReadFile(box.EmailPath(d.ID)); err != nil {
				t.Fatal(err)
			}
		}
		want, level := fromNameWant(locales[i%3], d.Variant)
		checkFromHeader(t, fmt.Sprintf("%s (%s, %s)", ext, locales[i%3], d.Variant), data, want)
		seen[level] = true
	}
	for _, level := range []string{"campaign", "campaign locale", "variant", "variant locale"} {
		if !seen[level] {
			t.Errorf("no customer got the %s from_name: change the customers so every level is checked", level)
		}
	}
}

// checkFromHeader parses the raw message's From header and compares its
// display name and address; the raw header must be ASCII (non-ASCII names
// travel as RFC 2047 encoded words).
func checkFromHeader(t *testing.T, who string, data []byte, wantName string) {
	t.Helper()
	if len(data) == 0 {
		t.Errorf("%s: no message received", who)
		return
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: parse: %v", who, err)
	}
	line := msg.Header.Get("From")
	for _, r := range line {
		if r > 0x7e {
			t.Errorf("%s: raw From header %q is not ASCII: the name must be RFC 2047-encoded", who, line)
			break
		}
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("%s: From %q: %v", who, line, err)
	}
	if from[0].Name != wantName || from[0].Address != "shop@tidings.test" {
		t.Errorf("%s: From = %q <%s> (raw %q), want %q <shop@tidings.test>", who, from[0].Name, from[0].Address,
			line, wantName)
	}
}
