package feedback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"

	"github.com/tidings-crm/tidings/channels/email/bounce"
)

// fetchBatch is how many messages one FETCH asks for.
const fetchBatch = 50

// maxMessage bounds the message a pass reads: a bounce with the original
// attached is rarely past a few hundred KB.
const maxMessage = 10 << 20

// Pass reads the mailbox once: bounces and complaints are recorded and
// moved to the processed folder (or deleted), auto-replies moved to their
// folder or left, anything else left for a person. Mail left in place is
// flagged so the next pass skips it; a report that failed to record stays
// unflagged and is read again.
func (m *Mailbox) Pass(ctx context.Context) (res PassResult, err error) {
	c, err := m.dial(ctx)
	if err != nil {
		return res, fmt.Errorf("feedback: bounce mailbox: %w", err)
	}
	defer func() { _ = c.Logout() }()
	if _, err := c.Select(m.folder, false); err != nil {
		return res, fmt.Errorf("feedback: bounce mailbox: select %s: %w", m.safeURL(), err)
	}
	crit := imap.NewSearchCriteria()
	crit.WithoutFlags = []string{flagSkipped, imap.DeletedFlag}
	uids, err := c.UidSearch(crit)
	if err != nil {
		return res, fmt.Errorf("feedback: bounce mailbox: search %s: %w", m.safeURL(), err)
	}
	var processed, autoReplies, skipped []uint32
	defer func() {
		// Whatever was done before an error is still moved, so a retry
		// does not read it again.
		if merr := m.file(c, processed, autoReplies, skipped); merr != nil && err == nil {
			err = merr
		}
	}()
	for start := 0; start < len(uids); start += fetchBatch {
		batch := uids[start:min(start+fetchBatch, len(uids))]
		msgs, ferr := fetch(c, batch)
		if ferr != nil {
			return res, fmt.Errorf("feedback: bounce mailbox: fetch from %s: %w", m.safeURL(), ferr)
		}
		for _, raw := range msgs {
			res.Read++
			msg, perr := bounce.Parse(raw.body)
			if perr != nil {
				res.Other++
				skipped = append(skipped, raw.uid)
				continue
			}
			switch msg.Class {
			case bounce.ClassReport:
				if err = m.record(ctx, msg, &res); err != nil {
					return res, fmt.Errorf("feedback: bounce mailbox: %w", err)
				}
				processed = append(processed, raw.uid)
			case bounce.ClassAutoReply:
				res.AutoReplies++
				autoReplies = append(autoReplies, raw.uid)
			default:
				res.Other++
				skipped = append(skipped, raw.uid)
			}
		}
	}
	return res, nil
}

type fetched struct {
	uid  uint32
	body []byte
}

// fetch reads whole messages by UID without marking them seen.
func fetch(c *client.Client, uids []uint32) ([]fetched, error) {
	section := &imap.BodySectionName{Peek: true}
	ch := make(chan *imap.Message, len(uids))
	done := make(chan error, 1)
	go func() {
		done <- c.UidFetch(seqSet(uids), []imap.FetchItem{imap.FetchUid, imap.FetchRFC822Size, section.FetchItem()}, ch)
	}()
	var out []fetched
	for msg := range ch {
		lit := msg.GetBody(section)
		if lit == nil || msg.Size > maxMessage {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(lit, maxMessage))
		if err != nil {
			continue
		}
		out = append(out, fetched{uid: msg.Uid, body: b})
	}
	return out, <-done
}

// file moves (or deletes) the processed mail and auto-replies, and flags
// what stays.
func (m *Mailbox) file(c *client.Client, processed, autoReplies, skipped []uint32) error {
	var errs []error
	if m.opts.Processed == DeleteProcessed {
		errs = append(errs, remove(c, processed))
	} else {
		errs = append(errs, move(c, processed, m.opts.Processed))
	}
	if m.opts.AutoReplies != "" {
		errs = append(errs, move(c, autoReplies, m.opts.AutoReplies))
	} else {
		skipped = append(skipped, autoReplies...)
	}
	if len(skipped) > 0 {
		if err := c.UidStore(seqSet(skipped), imap.FormatFlagsOp(imap.AddFlags, true), []any{flagSkipped}, nil); err != nil {
			errs = append(errs, fmt.Errorf("flag mail left in place: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("feedback: bounce mailbox %s: %w", m.safeURL(), err)
	}
	return nil
}

// move moves uids to folder, creating it when missing.
func move(c *client.Client, uids []uint32, folder string) error {
	if len(uids) == 0 {
		return nil
	}
	if err := c.Create(folder); err != nil && !strings.Contains(strings.ToLower(err.Error()), "exist") {
		return fmt.Errorf("create folder %s: %w", folder, err)
	}
	if ok, _ := c.Support("MOVE"); ok {
		if c.UidMove(seqSet(uids), folder) == nil {
			return nil
		}
		// Some servers announce MOVE (RFC 6851) without a backend for it.
	}
	// Without MOVE: copy, then delete the originals.
	if err := c.UidCopy(seqSet(uids), folder); err != nil {
		return fmt.Errorf("copy %d messages to %s: %w", len(uids), folder, err)
	}
	return remove(c, uids)
}

// remove deletes uids.
func remove(c *client.Client, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	if err := c.UidStore(seqSet(uids), imap.FormatFlagsOp(imap.AddFlags, true), []any{imap.DeletedFlag}, nil); err != nil {
		return fmt.Errorf("delete %d messages: %w", len(uids), err)
	}
	if err := c.Expunge(nil); err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	return nil
}
