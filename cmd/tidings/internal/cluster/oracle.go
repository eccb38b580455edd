package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidings-crm/tidings/store"
)

// Report is what Check found: the ledger compared with what the SMTP server
// received, message by message (Message-ID carries the ledger row's id).
type Report struct {
	Rows       int            // ledger rows checked
	Counts     map[string]int // rows by status
	Received   int            // messages the SMTP server accepted for these rows
	Sent       int            // rows sent
	Unknown    int            // rows unknown (the worker died mid-send)
	UnknownHit int            // unknown rows whose message did arrive
	Duplicates int            // messages beyond the first for one row
	Problems   []string       // each broken invariant, readable
}

// OK reports whether every invariant held.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < 20 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if len(r.Problems) == 20 {
		r.Problems = append(r.Problems, "... (more problems not shown)")
	}
}

// String summarises the report.
func (r Report) String() string {
	s := fmt.Sprintf("rows=%d received=%d sent=%d unknown=%d (arrived %d) duplicates=%d ledger[%s]",
		r.Rows, r.Received, r.Sent, r.Unknown, r.UnknownHit, r.Duplicates, strings.TrimSpace(FormatCounts(r.Counts)))
	if len(r.Problems) > 0 {
		s += "\n  " + strings.Join(r.Problems, "\n  ")
	}
	return s
}

// Check compares the ledger rows of campaignID (all campaigns when "") with
// the messages the SMTP server received. The invariants, from
// docs/reliability.md: every email row is sent or unknown (nothing left
// pending, sending or failed); a sent row's message arrived exactly once, to
// the row's customer; an unknown row's message arrived at most once; no
// message arrived for a row that is not in the ledger (when checking all).
// wantRows > 0 also requires that many rows (the audience).
func (c *Cluster) Check(ctx context.Context, campaignID string, wantRows int) Report {
	c.t.Helper()
	var rows []struct {
		ID     int64        `db:"id"`
		Status store.Status `db:"status"`
		Email  string       `db:"email"`
	}
	err := c.Store.DB.SelectContext(ctx, &rows, c.Store.DB.Rebind(`SELECT d.id, d.status, coalesce(c.email, '') AS email
		FROM deliveries d JOIN customers c ON c.id = d.customer_id
		WHERE d.channel = 'email' AND (? = '' OR d.campaign_id = ?)`), campaignID, campaignID)
	if err != nil {
		c.t.Fatalf("cluster: read ledger: %v", err)
	}
	type got struct {
		n  int
		to []string
	}
	received := map[int64]*got{}
	var r Report
	r.Counts = map[string]int{}
	for _, m := range c.SMTP.Messages() {
		id, ok := deliveryID(m.MessageID())
		if !ok {
			r.problem("the SMTP server received a message with Message-ID %q, not one of ours", m.MessageID())
			continue
		}
		g := received[id]
		if g == nil {
			g = &got{}
			received[id] = g
		}
		g.n++
		g.to = append(g.to, m.To...)
	}
	seen := make(map[int64]bool, len(rows))
	for _, row := range rows {
		seen[row.ID] = true
		r.Rows++
		r.Counts[string(row.Status)]++
		g := received[row.ID]
		n := 0
		if g != nil {
			n = g.n
			r.Received += n
			for _, to := range g.to {
				if !strings.EqualFold(to, row.Email) {
					r.problem("row %d: message went to another recipient than the row's customer", row.ID)
				}
			}
		}
		if n > 1 {
			r.Duplicates += n - 1
		}
		switch row.Status {
		case store.StatusSent:
			r.Sent++
			if n != 1 {
				r.problem("row %d is sent but its message arrived %d times", row.ID, n)
			}
		case store.StatusUnknown:
			r.Unknown++
			if n > 0 {
				r.UnknownHit++
			}
			if n > 1 {
				r.problem("row %d is unknown and its message arrived %d times", row.ID, n)
			}
		default:
			r.problem("row %d ends %s, want sent or unknown (message arrived %d times)", row.ID, row.Status, n)
		}
	}
	if campaignID == "" {
		for id, g := range received {
			if !seen[id] {
				r.problem("message for row %d arrived %d times but no such row is in the ledger", id, g.n)
			}
		}
	}
	if wantRows > 0 && r.Rows != wantRows {
		r.problem("ledger has %d rows, want %d (the audience)", r.Rows, wantRows)
	}
	return r
}

// deliveryID reads the ledger id out of a Message-ID tidings.<id>@domain.
func deliveryID(msgID string) (int64, bool) {
	local, domain, ok := strings.Cut(msgID, "@")
	if !ok || domain != MessageIDDomain || !strings.HasPrefix(local, "tidings.") {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(local, "tidings."), 10, 64)
	return id, err == nil
}
