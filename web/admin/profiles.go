package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/web/openapi"
	"github.com/tidings-crm/tidings/worker"
)

// Limits of the profile writes.
const (
	maxProfileBody  = 64 << 10 // one profile
	maxProfileBatch = 8 << 20  // a batch
	// MaxProfilesPerBatch bounds the customers of POST /v1/customers/batch.
	MaxProfilesPerBatch = 1000
)

// apiError is every 4xx/5xx answer of the signed customer routes, the
// shape of /v1/events' (docs/api.md), with each refused field when there
// are several.
type apiError struct {
	Code   string              `json:"code"`
	Error  string              `json:"error"`
	Field  string              `json:"field,omitempty"`
	Hint   string              `json:"hint,omitempty"`
	Errors imports.FieldErrors `json:"errors,omitempty"`
}

// signed serves the routes the shop's systems call, signed with Standard
// Webhooks: the profile writes and the transactional sends.
type signed struct {
	e   *worker.Engine
	v   *triggers.Verifier
	log *slog.Logger
}

// Signed serves the routes of the shop's systems, signed with Standard
// Webhooks like /v1/events (the secrets of TIDINGS_WEBHOOK_SECRET):
//
//	PUT  /v1/customers/{id}    create or update one customer by external id
//	POST /v1/customers/batch   {"customers": [{"external_id": ..., ...}]}, per-item results
//	POST /v1/send              a transactional message (send.go)
//
// GET /v1/customers/{id}, the profile, is the admin API's (Handler).
func Signed(e *worker.Engine, v *triggers.Verifier, logger *slog.Logger) openapi.Router {
	h := &signed{e: e, v: v, log: logger}
	mux := &openapi.Mux{}
	for _, r := range SignedRoutes {
		mux.HandleFunc(r, h.route(r))
	}
	return mux
}

// SignedRoutes are the patterns Signed serves (cmd/tidings mounts each).
var SignedRoutes = []string{"PUT /v1/customers/{id}", "POST /v1/customers/batch", "POST /v1/send"}

// route is the handler of one of SignedRoutes.
func (h *signed) route(pattern string) http.HandlerFunc {
	switch pattern {
	case "PUT /v1/customers/{id}":
		return h.put
	case "POST /v1/customers/batch":
		return h.batch
	}
	return h.send
}

// read authenticates r and returns its body, or answers the failure.
func (h *signed) read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := triggers.ReadSigned(h.v, w, r, limit)
	switch {
	case errors.Is(err, triggers.ErrTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Code: "too_large", Error: err.Error(),
			Hint: fmt.Sprintf("send at most %d customers per batch, or fewer attributes", MaxProfilesPerBatch)})
	case errors.Is(err, triggers.ErrUnreadable):
		writeJSON(w, http.StatusBadRequest, apiError{Code: "bad_request", Error: err.Error()})
	case err != nil:
		h.log.Warn("profile write refused", "reason", err.Error())
		field, hint := triggers.AuthHint(err)
		writeJSON(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Error: err.Error(), Field: field, Hint: hint})
	default:
		return body, true
	}
	return nil, false
}

// profileResult is the answer for one customer written.
type profileResult struct {
	ExternalID string              `json:"external_id"`
	Status     string              `json:"status"` // created, updated, unchanged, invalid, refused
	Errors     imports.FieldErrors `json:"errors,omitempty"`
	// ConsentPending names the consents waiting for the customer's
	// confirmation (double opt-in): ["email"] when a confirmation was sent.
	ConsentPending []string `json:"consent_pending,omitempty"`
}

// put serves PUT /v1/customers/{id}: 201 when created, 200 when updated or
// unchanged (a repeat changes nothing), 400 with every refused field.
func (h *signed) put(w http.ResponseWriter, r *http.Request) {
	body, ok := h.read(w, r, maxProfileBody)
	if !ok {
		return
	}
	in, err := imports.Profile(body, r.PathValue("id"), "")
	var fe imports.FieldErrors
	if errors.As(err, &fe) {
		writeJSON(w, http.StatusBadRequest, apiError{Code: "invalid_profile", Error: fe[0].Field + ": " + fe[0].Error,
			Field: fe[0].Field, Hint: "fix every field in errors (docs/api.md#profiles)", Errors: fe})
		return
	}
	res, ok := h.write(w, r, []store.CustomerInput{in})
	if !ok {
		return
	}
	status := http.StatusOK
	switch res[0].Status {
	case string(store.OutcomeCreated):
		status = http.StatusCreated
	case "refused":
		status = http.StatusBadRequest
	}
	writeJSON(w, status, res[0])
}

// batch serves POST /v1/customers/batch: the valid customers are written,
// the others answered with their errors; 200 when all were written, 207
// when some were refused, 400 when none was.
func (h *signed) batch(w http.ResponseWriter, r *http.Request) {
	body, ok := h.read(w, r, maxProfileBatch)
	if !ok {
		return
	}
	var req struct {
		Customers []json.RawMessage `json:"customers"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || len(req.Customers) == 0 || len(req.Customers) > MaxProfilesPerBatch {
		writeJSON(w, http.StatusBadRequest, apiError{Code: "invalid_profile", Field: "customers",
			Error: fmt.Sprintf("the body must be {\"customers\": [...]} with 1 to %d customers", MaxProfilesPerBatch),
			Hint:  `each item is a profile with its "external_id" (docs/api.md#profiles)`})
		return
	}
	results := make([]profileResult, len(req.Customers))
	var valid []store.CustomerInput
	var at []int // at[j] is the index of valid[j] in the request
	for i, raw := range req.Customers {
		in, err := imports.Profile(raw, "", fmt.Sprintf("customers[%d].", i))
		results[i].ExternalID = in.ExternalID
		var fe imports.FieldErrors
		if errors.As(err, &fe) {
			results[i].Status, results[i].Errors = "invalid", fe
			continue
		}
		valid, at = append(valid, in), append(at, i)
	}
	if len(valid) > 0 {
		written, ok := h.write(w, r, valid)
		if !ok {
			return
		}
		for j, res := range written {
			results[at[j]] = res
		}
	}
	status := http.StatusOK
	bad := 0
	for _, res := range results {
		if res.Status == "invalid" || res.Status == "refused" {
			bad++
		}
	}
	switch {
	case bad == len(results):
		status = http.StatusBadRequest
	case bad > 0:
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"results": results})
}

// write stores the validated profiles and returns one result for each, or
// answers 503 when the database is unavailable.
func (h *signed) write(w http.ResponseWriter, r *http.Request, in []store.CustomerInput) ([]profileResult, bool) {
	outcomes, refused, confirming, err := h.e.UpsertProfiles(r.Context(), in)
	if err != nil {
		h.log.Error("profiles not stored", "customers", len(in), "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Code: "unavailable",
			Error: "the profiles could not be stored; retry later", Hint: "retry the same request: it is idempotent"})
		return nil, false
	}
	out := make([]profileResult, len(in))
	for i := range in {
		out[i] = profileResult{ExternalID: in[i].ExternalID, Status: string(outcomes[i])}
		if confirming != nil && confirming[i] {
			out[i].ConsentPending = []string{"email"}
		}
	}
	for _, re := range refused {
		out[re.Index].Status = "refused"
		out[re.Index].Errors = imports.FieldErrors{{Field: "", Error: "the database refused this customer's values; check its text for odd characters"}}
	}
	return out, true
}
