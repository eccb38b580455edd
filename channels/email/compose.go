package email

import (
	"fmt"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/tidings-crm/tidings/channels"
)

// Identity is the sender side of a composed message.
type Identity struct {
	From     string // sender address
	FromName string // display name, may be empty
	// MessageIDDomain is the right-hand side of the Message-ID.
	MessageIDDomain string
	// ReturnPath, when set, makes each message's envelope sender name its
	// delivery (VERP), so bounces come back matched.
	ReturnPath *VERP
}

// HeaderCampaign carries the campaign name, for feedback loops and debugging.
const HeaderCampaign = "X-Tidings-Campaign"

// MessageID returns the Message-ID (without angle brackets) for a delivery.
// It depends only on the delivery id and the domain, so every retry of the
// same delivery carries the same Message-ID and receivers can deduplicate.
func MessageID(deliveryID int64, domain string) string {
	return "tidings." + strconv.FormatInt(deliveryID, 10) + "@" + domain
}

// Compose builds the RFC 5322 message for m: From (m.FromName, else the
// identity's name, at the identity's address), To, Subject, Date, the
// deterministic Message-ID, text and HTML bodies (multipart/alternative when
// both are present), List-Unsubscribe with the one-click https URL and the
// optional mailto, List-Unsubscribe-Post (RFC 8058, only for an https URL)
// and X-Tidings-Campaign. It is exported so the development outbox writes
// exactly what SMTP would carry.
func Compose(m *channels.Message, id Identity, now time.Time) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	from, err := sender(m, id)
	if err != nil {
		return nil, err
	}
	msg.SetAddrHeaderFromMailAddress(mail.HeaderFrom, from)
	if err := msg.To(m.To); err != nil {
		// The address itself is not logged or echoed: go-mail's error holds it.
		return nil, channels.Permanent("invalid_address", fmt.Errorf("email: compose: invalid recipient address %s",
			channels.Redact(m.To)))
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(MessageID(m.DeliveryID, id.MessageIDDomain))
	if id.ReturnPath != nil && m.DeliveryID > 0 {
		if err := msg.EnvelopeFrom(id.ReturnPath.Address(m.DeliveryID)); err != nil {
			return nil, channels.Permanent("invalid_sender", fmt.Errorf("email: compose: return path: %w", err))
		}
	}
	if m.Campaign != "" {
		msg.SetGenHeader(HeaderCampaign, m.Campaign)
	}
	if m.Locale != "" {
		msg.SetGenHeader(mail.HeaderContentLang, m.Locale)
	}
	if err := setUnsubscribe(msg, m); err != nil {
		return nil, err
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	}
	return msg, nil
}

// sender is the From address: the identity's address under the message's
// display name (the campaign's from_name) or, when it has none, the
// identity's. net/mail writes the name quoted when it is printable ASCII and
// as an RFC 2047 encoded word otherwise, so a name with quotes, accents or
// line breaks from a template can neither break nor inject a header.
func sender(m *channels.Message, id Identity) (*netmail.Address, error) {
	addr, err := netmail.ParseAddress(id.From)
	if err != nil {
		return nil, channels.Permanent("invalid_sender", fmt.Errorf("email: compose: from: %w", err))
	}
	addr.Name = id.FromName
	if name := strings.Join(strings.Fields(m.FromName), " "); name != "" {
		addr.Name = name // a header is one line
	}
	return addr, nil
}

// setUnsubscribe writes the List-Unsubscribe headers. A non-https URL (a
// development server) is listed but gets no one-click header, which RFC 8058
// allows only for https.
func setUnsubscribe(msg *mail.Msg, m *channels.Message) error {
	var uris []string
	if m.UnsubscribeMailto != "" {
		mailto := m.UnsubscribeMailto
		if !strings.HasPrefix(strings.ToLower(mailto), "mailto:") {
			mailto = "mailto:" + mailto
		}
		uris = append(uris, mailto)
	}
	switch {
	case strings.HasPrefix(strings.ToLower(m.UnsubscribeURL), "https://"):
		if err := msg.SetListUnsubscribeOneClick(m.UnsubscribeURL, uris...); err != nil {
			return channels.Permanent("invalid_unsubscribe", fmt.Errorf("email: compose: %w", err))
		}
	case m.UnsubscribeURL != "":
		msg.SetListUnsubscribe(append([]string{m.UnsubscribeURL}, uris...)...)
	case len(uris) > 0:
		msg.SetListUnsubscribe(uris...)
	}
	return nil
}
