package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// maxSendBody bounds a POST /v1/send body (its data is a message's).
const maxSendBody = 256 << 10

// send serves POST /v1/send: 202 with the delivery once its ledger row is
// committed (the message goes out from a deliver task), 200 with the same
// delivery for a repeat of the idempotency key, 409 when the key was used
// for another request, 404 for an unknown campaign or customer, 422 for a
// campaign that is not sent this way, 400 for a bad body.
func (h *signed) send(w http.ResponseWriter, r *http.Request) {
	body, ok := h.read(w, r, maxSendBody)
	if !ok {
		return
	}
	var req worker.SendRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: "invalid_send", Error: "body: " + err.Error(),
			Hint: `send {"campaign": "order-receipt", "customer": "shop-customer-42", "data": {...}, "idempotency_key": "receipt-A-1001"}`})
		return
	}
	ans, err := h.e.Send(r.Context(), req)
	var se *worker.SendError
	switch {
	case errors.As(err, &se):
		status, code := http.StatusBadRequest, "invalid_send"
		switch {
		case errors.Is(err, worker.ErrKeyReused):
			status, code = http.StatusConflict, "id_reused"
		case errors.Is(err, store.ErrNotFound):
			status, code = http.StatusNotFound, "not_found"
		case errors.Is(err, worker.ErrNotTransactional), errors.Is(err, worker.ErrPaused):
			status, code = http.StatusUnprocessableEntity, "not_sendable"
		}
		writeJSON(w, status, apiError{Code: code, Error: se.Msg, Field: se.Field, Hint: "docs/api.md#transactional-sends"})
	case err != nil:
		h.log.Error("transactional send not recorded", "campaign", req.Campaign, "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Code: "unavailable",
			Error: "the send could not be recorded; retry later", Hint: "retry with the same idempotency_key: it is sent once"})
	case ans.Duplicate:
		writeJSON(w, http.StatusOK, ans)
	default:
		writeJSON(w, http.StatusAccepted, ans)
	}
}
