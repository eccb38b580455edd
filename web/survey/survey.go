// Package survey serves the answers to satisfaction surveys: the signed
// one-click answer links of survey emails (GET /s/{token}, a thank-you page
// without script) and the numeric SMS replies the inbound SMS handler hands
// over (Replies). Each answer is recorded through triggers.Answers: an
// event of the events log, the survey's answer row and the customer's
// latest score (nps, csat), in one transaction.
package survey

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/web/openapi"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

// Store is what the answer page needs from the database; *store.Store
// satisfies it.
type Store interface {
	CustomerByID(ctx context.Context, id int64) (*store.Customer, error)
}

// Options configures Handler.
type Options struct {
	Store   Store
	Signer  unsubscribe.Signer // the unsubscribe links' signer: one key signs both
	Answers triggers.Answers
	// PublicURL is the root the answer links are served under (the
	// thank-you page's links to change the answer).
	PublicURL string
	// Brand names the sender on the page (default "Tidings").
	Brand  string
	Now    func() time.Time
	Logger *slog.Logger
}

type handler struct {
	opts Options
	log  *slog.Logger
}

// Handler returns the handler of GET /s/{token}: it records the link's
// answer and answers a thank-you page (200), or a page saying the link is
// not valid (400). A HEAD request records nothing. It fails without a
// store or a valid signing key.
func Handler(opts Options) (openapi.Router, error) {
	if opts.Store == nil || opts.Answers.Store == nil {
		return nil, errors.New("survey: handler needs a store")
	}
	if err := opts.Signer.Check(); err != nil {
		return nil, err
	}
	if opts.Brand == "" {
		opts.Brand = "Tidings"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	h := &handler{opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := &openapi.Mux{}
	mux.HandleFunc("GET /s/{token}", h.answer)
	return mux, nil
}

// answer records the link's score as the answer to its message. A second
// click on the same score changes nothing; another score replaces it.
func (h *handler) answer(w http.ResponseWriter, r *http.Request) {
	sub, err := h.opts.Signer.VerifySurvey(r.PathValue("token"))
	if err != nil {
		h.log.InfoContext(r.Context(), "survey: rejected link", "err", err)
		h.page(w, http.StatusBadRequest, pageData{Title: "Invalid link", Invalid: true})
		return
	}
	data := h.pageOf(sub)
	if r.Method == http.MethodHead { // link checkers: show the page, record nothing
		h.page(w, http.StatusOK, data)
		return
	}
	cust, err := h.opts.Store.CustomerByID(r.Context(), sub.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		h.page(w, http.StatusOK, data) // nobody left to attribute it to
		return
	}
	if err == nil {
		_, err = h.opts.Answers.Record(r.Context(), triggers.Answer{DeliveryID: sub.DeliveryID, Campaign: sub.Campaign,
			Kind: sub.Kind, Score: sub.Score, Via: ViaLink, At: h.opts.Now(), CustomerID: cust.ID,
			ExternalID: cust.ExternalID})
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "survey: answer not recorded", "customer", sub.CustomerID,
			"delivery", sub.DeliveryID, "campaign", sub.Campaign, "err", err)
		h.page(w, http.StatusInternalServerError, pageData{Title: "Please try again", Failed: true, Brand: h.opts.Brand})
		return
	}
	h.log.InfoContext(r.Context(), "survey answered", "customer", cust.ID, "delivery", sub.DeliveryID,
		"campaign", sub.Campaign, "survey", string(sub.Kind), "score", sub.Score, "via", ViaLink)
	h.page(w, http.StatusOK, data)
}

// How an answer came, as the answer event's via property says.
const (
	ViaLink = "link"
	ViaSMS  = "sms"
)

// pageOf is the thank-you page of sub: the score chosen, and the scale
// again, each score a signed link that changes the answer.
func (h *handler) pageOf(sub unsubscribe.SurveySubject) pageData {
	lo, hi, _ := sub.Kind.Scale()
	d := pageData{Title: "Thank you", Brand: h.opts.Brand, Score: sub.Score, Max: hi}
	for s := lo; s <= hi; s++ {
		o := sub
		o.Score = s
		d.Scale = append(d.Scale, scoreLink{Score: s, URL: h.opts.Signer.SurveyURL(h.opts.PublicURL, o), Chosen: s == sub.Score})
	}
	return d
}

// Replies records numeric SMS replies as answers to the survey the number
// was last sent by SMS (unsubscribe.SurveyReplies).
type Replies struct {
	Store interface {
		SentTo(ctx context.Context, customerIDs []int64, channel channels.Name, since time.Time, limit int) ([]*store.Delivery, error)
	}
	// SurveyOf is the survey a delivery's message asked, or nil
	// (worker.Engine.SurveyOf).
	SurveyOf func(d *store.Delivery) *campaigns.Survey
	Answers  triggers.Answers
	// Window is how long after its send an SMS survey takes replies
	// (default DefaultReplyWindow).
	Window time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultReplyWindow is how long an SMS survey is open for replies.
const DefaultReplyWindow = 7 * 24 * time.Hour

// surveyCandidates bounds the recent SMS looked at for the open survey.
const surveyCandidates = 50

// Reply reads body, from a number that custs hold, as the answer to the
// survey last sent to them by SMS within the window. handled is false when
// no survey is open or body is not a number (an ordinary message); a
// number off the scale is handled with a reply that asks again.
func (r Replies) Reply(ctx context.Context, custs []*store.Customer, body string) (reply string, handled bool, err error) {
	now, window := r.now(), r.Window
	if window <= 0 {
		window = DefaultReplyWindow
	}
	ids := make([]int64, len(custs))
	byID := make(map[int64]*store.Customer, len(custs))
	for i, c := range custs {
		ids[i], byID[c.ID] = c.ID, c
	}
	sent, err := r.Store.SentTo(ctx, ids, channels.SMS, now.Add(-window), surveyCandidates)
	if err != nil {
		return "", false, err
	}
	for _, d := range sent {
		sv := r.SurveyOf(d)
		if sv == nil {
			continue
		}
		score, isNumber, inRange := campaigns.ParseScore(sv.Kind, body)
		if !isNumber {
			return "", false, nil
		}
		lo, hi, _ := sv.Kind.Scale()
		if !inRange {
			return "Please reply with a number from " + itoa(lo) + " to " + itoa(hi) + ".", true, nil
		}
		c := byID[d.CustomerID]
		if _, err := r.Answers.Record(ctx, triggers.Answer{DeliveryID: d.ID, Campaign: d.CampaignID, Kind: sv.Kind,
			Score: score, Via: ViaSMS, At: now, CustomerID: c.ID, ExternalID: c.ExternalID}); err != nil {
			return "", true, err
		}
		if r.Logger != nil {
			r.Logger.InfoContext(ctx, "survey answered", "customer", c.ID, "delivery", d.ID, "campaign", d.CampaignID,
				"survey", string(sv.Kind), "score", score, "via", ViaSMS)
		}
		return "Thank you for your answer.", true, nil
	}
	return "", false, nil
}

func (r Replies) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
