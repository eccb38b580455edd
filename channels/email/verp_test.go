package email_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/smtptest"
)

func TestReturnPathNamesTheDelivery(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	verp, err := email.NewVERP("Bounces <bounces@Bounce.Shop.example>", key)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1, func(c *email.Config) { c.ReturnPath = verp })
	if _, err := s.Send(context.Background(), testMessage(4242, "ann@example.com")); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitMessages(t, 1, 5*time.Second)[0]
	if !strings.HasPrefix(got.From, "bounces+4242-") || !strings.HasSuffix(got.From, "@bounce.shop.example") {
		t.Fatalf("envelope sender = %q, want bounces+4242-<signature>@bounce.shop.example", got.From)
	}
	if id, ok := verp.Parse("<" + got.From + ">"); !ok || id != 4242 {
		t.Fatalf("Parse(%q) = %d, %v", got.From, id, ok)
	}
	// Another id under the same signature, another key, another domain:
	// none names a delivery.
	forged := strings.Replace(got.From, "+4242-", "+4243-", 1)
	other, _ := email.NewVERP("bounces@bounce.shop.example", []byte("another key of thirty-two bytes!"))
	for _, a := range []string{forged, strings.Replace(got.From, "bounce.shop.example", "evil.example", 1), "bounces@bounce.shop.example"} {
		if id, ok := verp.Parse(a); ok {
			t.Errorf("Parse(%q) = %d, want no delivery", a, id)
		}
	}
	if _, ok := other.Parse(got.From); ok {
		t.Error("a return path parsed under another key")
	}
	if _, err := email.NewVERP("bounces+x@shop.example", key); err == nil {
		t.Error("a base address with '+' was accepted")
	}
	if id, ok := email.ParseMessageID("<tidings.77@shop.example>"); !ok || id != 77 {
		t.Errorf("ParseMessageID = %d, %v", id, ok)
	}
	if _, ok := email.ParseMessageID("custom-message-ID"); ok {
		t.Error("a foreign Message-ID parsed")
	}
}
