package dashboard

import (
	"net/http"

	"github.com/tidings-crm/tidings/store"
)

// deadShown is how many dead-lettered webhooks the page lists.
const deadShown = 200

type webhooksPage struct {
	Pending, Delivered, Dead int
	Rows                     []store.HookRow
	More                     bool // more dead rows than listed
}

// webhooks shows the outgoing webhooks: how many are pending, delivered
// and dead, and the dead-letter list with the command that replays it.
func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request) {
	if h.opts.Hooks == nil {
		h.problem(w, http.StatusNotFound, "No outgoing webhooks", "This server has no webhook outbox to show.")
		return
	}
	counts, err := h.opts.Hooks.HookCounts(r.Context())
	var rows []store.HookRow
	if err == nil {
		rows, err = h.opts.Hooks.Hooks(r.Context(), store.HookDead, deadShown+1)
	}
	if err != nil {
		h.opts.Logger.Error("dashboard: webhooks", "err", err)
		h.problem(w, http.StatusServiceUnavailable, "Database unavailable",
			"The webhook outbox could not be read from the database. Check /readyz and the server log, then reload.")
		return
	}
	p := webhooksPage{Pending: counts[store.HookPending], Delivered: counts[store.HookDelivered],
		Dead: counts[store.HookDead], Rows: rows}
	if len(rows) > deadShown {
		p.Rows, p.More = rows[:deadShown], true
	}
	h.render(w, http.StatusOK, "webhooks", p)
}
