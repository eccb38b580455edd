// Package outbox is the development channel: instead of sending, it writes
// each email as an RFC 5322 .eml file (exactly what SMTP would carry, built by
// channels/email.Compose) and appends each SMS as one JSON line to sms.log.
// Open the .eml files in any mail client to review a campaign.
package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/sms"
)

// SMSLogName is the file SMS are appended to, inside the outbox directory.
const SMSLogName = "sms.log"

// Outbox writes messages into one directory. It is safe for concurrent use
// (and for several processes sharing the directory: each .eml is renamed into
// place and each sms.log line is a single append).
type Outbox struct {
	dir string
	id  email.Identity
	now func() time.Time
	mu  sync.Mutex // serialises sms.log appends within the process
}

// New creates dir if needed. id is the sender identity written into emails.
func New(dir string, id email.Identity) (*Outbox, error) {
	if id.MessageIDDomain == "" {
		id.MessageIDDomain = "outbox.invalid"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("outbox: create %s: %w", dir, err)
	}
	return &Outbox{dir: dir, id: id, now: time.Now}, nil
}

// Dir returns the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// EmailPath returns the file an email for deliveryID is written to.
func (o *Outbox) EmailPath(deliveryID int64) string {
	return filepath.Join(o.dir, strconv.FormatInt(deliveryID, 10)+".eml")
}

// Email returns the channel that writes emails as .eml files.
func (o *Outbox) Email() channels.Channel { return emailChannel{o} }

// SMS returns the channel that appends SMS to sms.log.
func (o *Outbox) SMS() channels.Channel { return smsChannel{o} }

type emailChannel struct{ o *Outbox }

func (c emailChannel) Name() channels.Name { return channels.Email }

// Send writes m to <dir>/<delivery id>.eml; a retry of the same delivery
// replaces the file. ProviderID is the Message-ID.
func (c emailChannel) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	if err := ctx.Err(); err != nil {
		return channels.Result{}, fmt.Errorf("outbox: email: %w", err)
	}
	msg, err := email.Compose(m, c.o.id, c.o.now())
	if err != nil {
		return channels.Result{}, err
	}
	tmp, err := os.CreateTemp(c.o.dir, ".tmp-*.eml")
	if err != nil {
		return channels.Result{}, channels.Transient("io", fmt.Errorf("outbox: email: %w", err))
	}
	_, werr := msg.WriteTo(tmp)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), c.o.EmailPath(m.DeliveryID))
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return channels.Result{}, channels.Transient("io", fmt.Errorf("outbox: email %d: %w", m.DeliveryID, werr))
	}
	return channels.Result{ProviderID: email.MessageID(m.DeliveryID, c.o.id.MessageIDDomain)}, nil
}

// SMSRecord is one line of sms.log.
type SMSRecord struct {
	DeliveryID int64     `json:"delivery_id"`
	Campaign   string    `json:"campaign"`
	Variant    string    `json:"variant,omitempty"`
	To         string    `json:"to"`
	Text       string    `json:"text"`
	Encoding   string    `json:"encoding"`
	Segments   int       `json:"segments"`
	At         time.Time `json:"at"`
}

type smsChannel struct{ o *Outbox }

func (c smsChannel) Name() channels.Name { return channels.SMS }

// Send appends m as one JSON line to sms.log. ProviderID is "outbox-<id>".
func (c smsChannel) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	if err := ctx.Err(); err != nil {
		return channels.Result{}, fmt.Errorf("outbox: sms: %w", err)
	}
	enc, segments := sms.Segments(m.Text)
	line, err := json.Marshal(SMSRecord{DeliveryID: m.DeliveryID, Campaign: m.Campaign, Variant: m.Variant,
		To: m.To, Text: m.Text, Encoding: enc, Segments: segments, At: c.o.now().UTC()})
	if err != nil {
		return channels.Result{}, channels.Permanent("invalid_message", fmt.Errorf("outbox: sms: %w", err))
	}
	line = append(line, '\n')
	if err := c.o.appendLine(line); err != nil {
		return channels.Result{}, channels.Transient("io", fmt.Errorf("outbox: sms %d: %w", m.DeliveryID, err))
	}
	return channels.Result{ProviderID: "outbox-" + strconv.FormatInt(m.DeliveryID, 10), Segments: segments}, nil
}

// appendLine writes line with one O_APPEND write.
func (o *Outbox) appendLine(line []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(o.dir, SMSLogName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(line)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// EraseMessages removes what the outbox holds of the given deliveries: their
// .eml files and their sms.log lines (the log is rewritten without them and
// renamed into place). It returns how many messages it removed. A line
// appended by another process while the log is rewritten may be lost: erase
// while no campaign is writing to a shared outbox.
func (o *Outbox) EraseMessages(deliveryIDs []int64) (int, error) {
	gone := make(map[int64]bool, len(deliveryIDs))
	n := 0
	for _, id := range deliveryIDs {
		gone[id] = true
		err := os.Remove(o.EmailPath(id))
		if err == nil {
			n++
		} else if !os.IsNotExist(err) {
			return n, fmt.Errorf("outbox: erase email %d: %w", id, err)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	path := filepath.Join(o.dir, SMSLogName)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return n, nil
	}
	if err != nil {
		return n, fmt.Errorf("outbox: erase sms: %w", err)
	}
	var kept []byte
	for line := range bytes.Lines(data) {
		var rec struct {
			DeliveryID int64 `json:"delivery_id"`
		}
		if json.Unmarshal(line, &rec) == nil && gone[rec.DeliveryID] {
			n++
			continue
		}
		kept = append(kept, line...)
	}
	if len(kept) == len(data) {
		return n, nil
	}
	tmp := path + ".erase"
	if err := os.WriteFile(tmp, kept, 0o644); err != nil {
		return n, fmt.Errorf("outbox: erase sms: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return n, fmt.Errorf("outbox: erase sms: %w", err)
	}
	return n, nil
}
