package feedback

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// sesNotification is an SES bounce, complaint or delivery notification (the
// Message of an SNS notification), in the notification format
// (notificationType) or the event-publishing format (eventType).
type sesNotification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Mail             struct {
		MessageID     string `json:"messageId"`
		Source        string `json:"source"`
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		Timestamp         string `json:"timestamp"`
		FeedbackID        string `json:"feedbackId"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		Timestamp             string `json:"timestamp"`
		FeedbackID            string `json:"feedbackId"`
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp    string   `json:"timestamp"`
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
	} `json:"delivery"`
}

// ses serves SNS: it confirms a verified subscription, and records the SES
// notifications of verified messages. Anything unverified is 403.
func (h *handler) ses(v *snsVerifier) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		var m snsMessage
		if err := json.Unmarshal(body, &m); err != nil {
			writeError(w, http.StatusBadRequest, "body is not an SNS message: "+err.Error())
			return
		}
		if err := v.verify(r.Context(), &m); err != nil {
			status := http.StatusForbidden
			if !errors.Is(err, errSNS) {
				status = http.StatusBadGateway // the certificate could not be fetched: SNS retries
			}
			h.opts.Logger.Warn("SNS message refused", "provider", "ses", "err", err)
			writeError(w, status, err.Error())
			return
		}
		switch m.Type {
		case "SubscriptionConfirmation":
			if err := v.confirm(r.Context(), &m); err != nil {
				status := http.StatusForbidden
				if !errors.Is(err, errSNS) {
					status = http.StatusBadGateway
				}
				writeError(w, status, err.Error())
				return
			}
			h.opts.Logger.Info("SNS subscription confirmed", "provider", "ses", "topic", m.TopicArn)
			writeJSON(w, http.StatusOK, map[string]string{"confirmed": m.TopicArn})
		case "UnsubscribeConfirmation":
			writeJSON(w, http.StatusOK, map[string]string{"unsubscribed": m.TopicArn})
		case "Notification":
			var n sesNotification
			if err := json.Unmarshal([]byte(m.Message), &n); err != nil {
				writeError(w, http.StatusBadRequest, "the SNS Message is not an SES notification: "+err.Error())
				return
			}
			reports, ignored := h.sesReports(&n, m.MessageID)
			h.record(w, r, "ses", reports, ignored)
		default:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("SNS message type %q", m.Type))
		}
	}
}

// sesReports turns a notification into one report per recipient.
func (h *handler) sesReports(n *sesNotification, snsID string) ([]store.Feedback, int) {
	base := store.Feedback{Provider: "ses", Channel: channels.Email}
	messageID := n.Mail.CommonHeaders.MessageID
	for _, hd := range n.Mail.Headers {
		if strings.EqualFold(hd.Name, "Message-ID") && messageID == "" {
			messageID = hd.Value
		}
	}
	h.match(&base, messageID, n.Mail.Source)
	kind := n.NotificationType
	if kind == "" {
		kind = n.EventType
	}
	var out []store.Feedback
	add := func(i int, id string, typ store.FeedbackType, addr, text, at string) {
		f := base
		if id == "" {
			id = snsID
		}
		f.EventID, f.Type, f.Address, f.Diagnostic = id+"/"+strconv.Itoa(i), typ, addr, text
		f.OccurredAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, f)
	}
	switch {
	case kind == "Bounce" && n.Bounce != nil:
		typ := store.FeedbackSoftBounce
		if n.Bounce.BounceType == "Permanent" {
			typ = store.FeedbackHardBounce
		}
		for i, rc := range n.Bounce.BouncedRecipients {
			text := strings.TrimSpace(n.Bounce.BounceType + "/" + n.Bounce.BounceSubType + " " + rc.Status + " " + rc.DiagnosticCode)
			add(i, n.Bounce.FeedbackID, typ, rc.EmailAddress, text, n.Bounce.Timestamp)
		}
	case kind == "Complaint" && n.Complaint != nil:
		for i, rc := range n.Complaint.ComplainedRecipients {
			add(i, n.Complaint.FeedbackID, store.FeedbackComplaint, rc.EmailAddress, n.Complaint.ComplaintFeedbackType, n.Complaint.Timestamp)
		}
	case kind == "Delivery" && n.Delivery != nil:
		for i, rc := range n.Delivery.Recipients {
			add(i, "delivery-"+n.Mail.MessageID, store.FeedbackDelivered, rc, n.Delivery.SMTPResponse, n.Delivery.Timestamp)
		}
	default:
		return nil, 1 // opens, clicks, sends, rejects...: not tracked here
	}
	return out, 0
}
