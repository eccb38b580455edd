package feedback

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// postmarkRecord is a Postmark webhook body: a Bounce, SpamComplaint or
// Delivery record.
type postmarkRecord struct {
	RecordType  string
	ID          json.Number
	Type        string // HardBounce, SoftBounce, Transient, SpamComplaint, ...
	MessageID   string
	Email       string // bounces and complaints
	Recipient   string // deliveries
	Description string
	Details     string
	BouncedAt   string
	DeliveredAt string
	Metadata    map[string]string
}

// postmarkHard are the bounce types that mean the address will not accept
// mail (Postmark's bounce type list; the rest are temporary or not about
// the address: auto-replies, challenges, DMARC policies...).
var postmarkHard = map[string]bool{"HardBounce": true, "BadEmailAddress": true, "ManuallyDeactivated": true,
	"Unsubscribe": false, "AddressChange": false}

// postmarkSoft are the temporary bounce types.
var postmarkSoft = map[string]bool{"SoftBounce": true, "Transient": true, "DnsError": true, "ContentRelated": true,
	"SMTPApiError": true, "Blocked": true}

// postmark checks the basic-auth credentials of the webhook URL and records
// one record.
func (h *handler) postmark(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(h.opts.PostmarkUser)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(h.opts.PostmarkPassword)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="tidings feedback"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong basic-auth credentials: put the user:password of TIDINGS_POSTMARK_WEBHOOK_AUTH in the webhook URL given to Postmark")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var rec postmarkRecord
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil {
		writeError(w, http.StatusBadRequest, "body is not a Postmark webhook record: "+err.Error())
		return
	}
	f := store.Feedback{Provider: "postmark", Channel: channels.Email, Address: rec.Email,
		Diagnostic: strings.TrimSpace(rec.Description + " " + rec.Details)}
	at := rec.BouncedAt
	switch {
	case rec.RecordType == "SpamComplaint" || rec.Type == "SpamComplaint":
		f.Type = store.FeedbackComplaint
	case rec.RecordType == "Bounce" && postmarkHard[rec.Type]:
		f.Type = store.FeedbackHardBounce
	case rec.RecordType == "Bounce" && postmarkSoft[rec.Type]:
		f.Type = store.FeedbackSoftBounce
	case rec.RecordType == "Delivery":
		f.Type, f.Address, at = store.FeedbackDelivered, rec.Recipient, rec.DeliveredAt
	default:
		h.record(w, r, "postmark", nil, 1)
		return
	}
	f.EventID = rec.RecordType + ":" + rec.ID.String()
	if rec.ID == "" {
		f.EventID = rec.RecordType + ":" + rec.MessageID
	}
	f.OccurredAt, _ = time.Parse(time.RFC3339Nano, at)
	if id, err := strconv.ParseInt(rec.Metadata[PostmarkMetadataKey], 10, 64); err == nil && id > 0 {
		f.DeliveryID = id
	} else {
		f.ProviderMessageID = rec.MessageID
	}
	h.record(w, r, "postmark", []store.Feedback{f}, 0)
}

// PostmarkMetadataKey is the metadata Postmark returns with each event when
// the message carried it (X-PM-Metadata-tidings-delivery over SMTP): the
// delivery id. Without it the report is matched by Postmark's MessageID,
// which Tidings only knows when it sent through Postmark's API.
const PostmarkMetadataKey = "tidings-delivery"
