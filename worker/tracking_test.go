package worker_test

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/outbox"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/tracking"
	"github.com/tidings-crm/tidings/web/unsubscribe"
	"github.com/tidings-crm/tidings/worker"
)

const trackedYAML = `id: tracked
name: Tracked
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
tracking: {opens: true, clicks: true}
messages:
  email:
    subject: Sale
    text: "Sale: https://shop.example/sale"
    html: '<html><body><a href="https://shop.example/sale?c={{ .external_id }}&amp;s=1">sale</a> <a href="{{ .unsubscribe_url }}">unsubscribe</a></body></html>'
`

// TestTrackedCampaignEmails: a campaign with tracking sends its HTML part
// with the links signed for the delivery (the unsubscribe link kept), the
// honeypot and the pixel; the text part is untouched. The same campaign
// without tracking sends its links as written.
func TestTrackedCampaignEmails(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			t.Parallel()
			b := setup(t, store.SQLite)
			b.addCustomers(t, 3, nil)
			box, err := outbox.New(filepath.Join(b.dir, "outbox"), email.Identity{From: "shop@tidings.test"})
			if err != nil {
				t.Fatal(err)
			}
			b.chans["email"] = box.Email()
			src := trackedYAML
			if !on {
				src = strings.Replace(src, "tracking: {opens: true, clicks: true}\n", "", 1)
			}
			c := b.campaign(t, src)
			base := "https://news.example.com"
			signer := unsubscribe.Signer{Key: []byte(strings.Repeat("k", 32))}
			tokens := tracking.Tokens{Signer: signer}
			rw := tracking.Rewriter{Tokens: tokens, Base: base}
			opts := worker.Options{
				UnsubscribeURL: func(d *store.Delivery) string {
					return signer.URL(base, unsubscribe.Subject{DeliveryID: d.ID, CustomerID: d.CustomerID, Channel: d.Channel, Campaign: d.CampaignID})
				},
				TrackHTML: func(d *store.Delivery, tr campaigns.Tracking, html, unsub string, now time.Time) string {
					return rw.Rewrite(html, tracking.Message{DeliveryID: d.ID, CustomerID: d.CustomerID, Campaign: d.CampaignID,
						SentAt: now, UnsubscribeURL: unsub}, tr)
				},
			}
			e := b.engineWith(t, opts, c)
			b.startWorker(t, e, 2)
			if err := e.Enqueue(context.Background(), c.ID, "k1", time.Now()); err != nil {
				t.Fatal(err)
			}
			b.waitRun(t, c.ID, "k1", 30*time.Second)
			tracked := regexp.MustCompile(regexp.QuoteMeta(base) + `/([co])/([A-Za-z0-9_.-]+)`)
			for ext, d := range b.deliveries(t, c.ID) {
				raw, err := os.ReadFile(box.EmailPath(d.ID))
				if err != nil {
					t.Fatal(err)
				}
				msg := decodeQP(t, raw)
				if !strings.Contains(msg, base+"/u/") || !strings.Contains(msg, "Sale: https://shop.example/sale") {
					t.Errorf("%s: the unsubscribe link or the text part changed:\n%s", ext, msg)
				}
				found := tracked.FindAllStringSubmatch(msg, -1)
				if !on {
					if len(found) != 0 || !strings.Contains(msg, "https://shop.example/sale?c="+ext) {
						t.Errorf("%s: tracking off, yet links rewritten:\n%s", ext, msg)
					}
					continue
				}
				if len(found) != 3 {
					t.Fatalf("%s: %d tracked URLs, want the link, the honeypot and the pixel:\n%s", ext, len(found), msg)
				}
				l, err := tokens.Verify(found[0][2])
				if err != nil || l.Kind != tracking.KindClick || l.DeliveryID != d.ID || l.CustomerID != d.CustomerID ||
					l.URL != "https://shop.example/sale?c="+ext+"&s=1" || l.Campaign != "tracked" {
					t.Errorf("%s: link %+v %v", ext, l, err)
				}
				if p, err := tokens.Verify(found[2][2]); err != nil || found[2][1] != "o" || p.Kind != tracking.KindOpen {
					t.Errorf("%s: pixel %+v %v", ext, p, err)
				}
			}
		})
	}
}

// decodeQP is a raw message with its quoted-printable parts decoded (HTML
// lines are folded and '=' escaped in transit).
func decodeQP(t *testing.T, raw []byte) string {
	t.Helper()
	out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return string(raw) // not all QP: good enough for the checks, which name what they miss
	}
	return string(out)
}
