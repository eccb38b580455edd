package outbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/outbox"
)

func TestEmailWritesEML(t *testing.T) {
	dir := t.TempDir()
	o, err := outbox.New(filepath.Join(dir, "out"), email.Identity{From: "news@shop.example", MessageIDDomain: "shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	m := &channels.Message{DeliveryID: 314, Campaign: "win-back", To: "ann@example.com", Subject: "We miss you",
		Text: "Come back", HTML: "<p>Come back</p>", UnsubscribeURL: "https://shop.example/u/x"}
	ch := o.Email()
	res, err := ch.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name() != "email" || res.ProviderID != "tidings.314@shop.example" {
		t.Errorf("name %q, ProviderID %q", ch.Name(), res.ProviderID)
	}
	// A retry replaces the file rather than adding one.
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(o.Dir())
	if len(entries) != 1 || entries[0].Name() != "314.eml" {
		t.Fatalf("outbox holds %v, want only 314.eml", entries)
	}
	f, err := os.Open(o.EmailPath(314))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parsed, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("parse .eml: %v", err)
	}
	h := parsed.Header
	if h.Get("Message-Id") != "<tidings.314@shop.example>" || h.Get("To") != "<ann@example.com>" ||
		h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || h.Get("X-Tidings-Campaign") != "win-back" {
		t.Errorf("headers = %v", h)
	}
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "multipart/alternative" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
}

func TestSMSConcurrentAppends(t *testing.T) {
	o, err := outbox.New(t.TempDir(), email.Identity{From: "news@shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	ch := o.SMS()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			text := fmt.Sprintf("Message %d: 20%% off € today", i)
			if _, err := ch.Send(context.Background(), &channels.Message{DeliveryID: int64(i), Campaign: "flash",
				To: "+14155550100", Text: text}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f, err := os.Open(filepath.Join(o.Dir(), outbox.SMSLogName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[int64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r outbox.SMSRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		want := fmt.Sprintf("Message %d: 20%% off € today", r.DeliveryID)
		if r.Text != want || r.Encoding != "GSM-7" || r.Segments != 1 || r.To != "+14155550100" {
			t.Errorf("record %+v", r)
		}
		seen[r.DeliveryID] = true
	}
	if len(seen) != n {
		t.Errorf("distinct records = %d, want %d", len(seen), n)
	}
}
