package admin

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// The customer routes serve the data-protection requests: erasure, export
// and an operator's consent change. {id} is the Tidings id or the shop's
// external id. Answers carry ids and counts, never the person's addresses,
// except the export, which is the person's data by design.

// customer resolves {id}, answering 404 or 503 itself when it cannot.
func (h *api) customer(w http.ResponseWriter, r *http.Request) (*store.Customer, bool) {
	c, err := h.e.FindCustomer(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no customer has that id or external id"})
		return nil, false
	case err != nil:
		h.log.Error("find customer failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
		return nil, false
	}
	return c, true
}

// erase serves POST /v1/customers/{id}/erase: 200 with what was removed
// (already_erased when it was done before).
func (h *api) erase(w http.ResponseWriter, r *http.Request) {
	c, ok := h.customer(w, r)
	if !ok {
		return
	}
	rep, err := h.e.Erase(r.Context(), c.ID)
	if err != nil {
		h.log.Error("erasure failed", "customer", c.ID, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "erasure failed; it is safe to retry"})
		return
	}
	h.log.Info("customer erased", "customer", c.ID, "cancelled", rep.Cancelled, "queue_tasks", rep.Tasks,
		"outbox_messages", rep.Messages)
	writeJSON(w, http.StatusOK, rep)
}

// export serves GET /v1/customers/{id}/export: everything held about the
// person as one JSON document.
func (h *api) export(w http.ResponseWriter, r *http.Request) {
	c, ok := h.customer(w, r)
	if !ok {
		return
	}
	exp, err := h.e.Export(r.Context(), c.ID)
	if err != nil {
		h.log.Error("export failed", "customer", c.ID, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="customer-export.json"`)
	writeJSON(w, http.StatusOK, exp)
}

// consentRequest is the body of POST /v1/customers/{id}/consent.
type consentRequest struct {
	Channel channels.Name `json:"channel"`
	Granted *bool         `json:"granted"`
}

// consent serves POST /v1/customers/{id}/consent: an operator records a
// consent given or withdrawn outside Tidings (source "admin").
func (h *api) consent(w http.ResponseWriter, r *http.Request) {
	var req consentRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Granted == nil || (req.Channel != channels.Email && req.Channel != channels.SMS) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"channel": "email" or "sms", "granted": true or false}`})
		return
	}
	c, ok := h.customer(w, r)
	if !ok {
		return
	}
	if err := h.e.SetConsent(r.Context(), c.ID, req.Channel, *req.Granted); err != nil {
		h.log.Error("consent change failed", "customer", c.ID, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer_id": c.ID, "channel": req.Channel, "granted": *req.Granted})
}

// profile serves GET /v1/customers/{id}: the profile with its consents,
// tags, attributes, metrics and scores, and the consent history.
func (h *api) profile(w http.ResponseWriter, r *http.Request) {
	c, ok := h.customer(w, r)
	if !ok {
		return
	}
	p, err := h.e.Profile(r.Context(), c.ID)
	if err != nil {
		h.log.Error("profile failed", "customer", c.ID, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, p)
}
