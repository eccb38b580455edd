package feedback_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/backend/memory"
	"github.com/emersion/go-imap/client"
	"github.com/emersion/go-imap/server"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/feedback"
)

// imapServer serves go-imap's in-memory backend (user "username", password
// "password", an INBOX holding one plain message) on a loopback port.
func imapServer(t *testing.T) (addr string, be *memory.Backend) {
	t.Helper()
	be = memory.New()
	srv := server.New(be)
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log{t}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String(), be
}

type log struct{ t *testing.T }

func (l log) Printf(format string, v ...any) { l.t.Logf(format, v...) }
func (l log) Println(v ...any)               { l.t.Log(v...) }

// appendMail puts raw messages into folder, as the MTA delivering bounces
// would.
func appendMail(t *testing.T, addr, folder string, raws ...[]byte) {
	t.Helper()
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Logout() }()
	if err := c.Login("username", "password"); err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		if err := c.Append(folder, nil, time.Now(), bytes.NewBuffer(raw)); err != nil {
			t.Fatal(err)
		}
	}
}

// folderSize counts the messages of a folder of the backend (-1: no folder).
func folderSize(t *testing.T, be *memory.Backend, name string) int {
	t.Helper()
	u, err := be.Login(nil, "username", "password")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := u.GetMailbox(name)
	if err != nil {
		return -1
	}
	st, err := mb.Status([]imap.StatusItem{imap.StatusMessages})
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Messages)
}

// corpusCase is one message of the bounce corpus, sent to its own customer.
type corpusCase struct {
	file, address string
	reason        store.SuppressionReason // "" when the address must stay mailable
	feedback      string                  // the delivery row's feedback after the pass
}

var mailboxCorpus = []corpusCase{
	{"postfix-hard.eml", "gone@example.net", store.SuppressHardBounce, "hard_bounce"},
	{"postfix-soft-full.eml", "full@example.org", "", "soft_bounce"},
	{"postfix-delayed.eml", "slow@example.com", "", ""},
	{"exim-hard.eml", "nobody@example.com", store.SuppressHardBounce, "hard_bounce"},
	{"exim-soft-quota.eml", "stuffed@example.org", "", "soft_bounce"},
	{"exim-delay.eml", "waiting@example.com", "", ""},
	{"exchange-o365-hard.eml", "left.company@contoso.com", store.SuppressHardBounce, "hard_bounce"},
	{"exchange-legacy-hard.eml", "former.staff@corp.example.com", store.SuppressHardBounce, "hard_bounce"},
	{"gmail-hard.eml", "no.such.person.42@gmail.com", store.SuppressHardBounce, "hard_bounce"},
	{"gmail-soft-quota.eml", "big.inbox@gmail.com", "", "soft_bounce"},
	{"yahoo-hard.eml", "long.gone.2009@yahoo.com", store.SuppressHardBounce, "hard_bounce"},
	{"yahoo-arf-complaint.eml", "annoyed.reader@yahoo.com", store.SuppressComplaint, "complaint"},
	{"arf-redacted-complaint.eml", "reader@mailbox.example", store.SuppressComplaint, "complaint"},
	{"autoreply-gmail-vacation.eml", "away.for.now@gmail.com", "", ""},
	{"autoreply-outlook.eml", "sam.reader@contoso.com", "", ""},
	{"autoreply-plain-ooo.eml", "bo.lund@example.se", "", ""},
	{"person-reply.eml", "ana.buyer@example.com", "", ""},
	{"person-quoting-bounce.eml", "ana.b@example.com", "", ""}, // quotes a bounce of colleague@example.com
}

// TestBounceMailboxPass: an IMAP server holds the corpus, each message
// about a real delivery row; one scheduled pass suppresses exactly the
// hard-bounced (and complained) addresses, marks each row, moves reports
// and auto-replies away and leaves the person's mail; the next pass reads
// nothing, and a bounce delivered twice is recorded once.
func TestBounceMailboxPass(t *testing.T) {
	t.Parallel()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			verp, err := email.NewVERP("bounces@bounce.shop.example", bytes.Repeat([]byte("k"), 32))
			if err != nil {
				t.Fatal(err)
			}
			b := setup(t, d, feedback.Options{VERP: verp}, time.Now())
			addr, be := imapServer(t)
			ids := make([]int64, len(mailboxCorpus))
			var raws [][]byte
			for i, c := range mailboxCorpus {
				ids[i] = b.sent(t, "winter-sale", "c"+itoa(int64(i)), c.address, "", channels.Email, "")
				id := itoa(ids[i])
				raw, err := os.ReadFile("../../channels/email/bounce/testdata/" + c.file)
				if err != nil {
					t.Fatal(err)
				}
				raws = append(raws, []byte(strings.NewReplacer("tidings.1001@", "tidings."+id+"@",
					"bounces+1001-5f2a9c0e7b1d3a46@bounce.shop.example", verp.Address(ids[i])).Replace(string(raw))))
			}
			// The Exim bounce matched by its return path alone: no Message-ID.
			raws[3] = bytes.ReplaceAll(raws[3], []byte("Message-ID: <tidings."+itoa(ids[3])+"@shop.example>\n"), nil)
			appendMail(t, addr, "INBOX", raws...)

			mb, err := feedback.NewMailbox(feedback.MailboxOptions{URL: "imap://username:password@" + addr + "/INBOX",
				Processed: "Processed", AutoReplies: "Auto-replies", Store: b.st, VERP: verp,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type pass struct {
				res feedback.PassResult
				err error
			}
			passes := make(chan pass)
			next := make(chan struct{})
			go mb.Run(ctx, time.Millisecond, func(r feedback.PassResult, err error) {
				select {
				case passes <- pass{r, err}:
				case <-ctx.Done():
					return
				}
				select {
				case <-next:
				case <-ctx.Done():
				}
			})
			p := <-passes
			if p.err != nil {
				t.Fatal(p.err)
			}
			// 18 fixtures and the backend's own plain message.
			want := feedback.PassResult{Read: 19, Recorded: 11, Suppressed: 8, Delays: 2, AutoReplies: 3, Other: 3}
			if p.res != want {
				t.Fatalf("first pass %+v, want %+v", p.res, want)
			}
			for i, c := range mailboxCorpus {
				if got := b.suppressed(t, channels.Email, c.address); got != c.reason {
					t.Errorf("%s: %s suppressed for %q, want %q", c.file, c.address, got, c.reason)
				}
				if got := b.feedbackOf(t, ids[i]); got != c.feedback {
					t.Errorf("%s: delivery feedback %q, want %q", c.file, got, c.feedback)
				}
			}
			if n := b.count(t, `SELECT count(*) FROM suppressions`); n != 8 {
				t.Errorf("%d suppressions, want 8", n)
			}
			if got := [3]int{folderSize(t, be, "INBOX"), folderSize(t, be, "Processed"), folderSize(t, be, "Auto-replies")}; got != [3]int{3, 13, 3} {
				t.Errorf("INBOX, Processed, Auto-replies hold %v, want [3 13 3]", got)
			}
			before := b.count(t, `SELECT count(*) FROM delivery_feedback`)

			// The MTA delivers the Postfix bounce again; the next pass
			// records it as a duplicate and reads nothing else.
			appendMail(t, addr, "INBOX", raws[0])
			next <- struct{}{}
			p = <-passes
			if p.err != nil {
				t.Fatal(p.err)
			}
			if want := (feedback.PassResult{Read: 1, Duplicates: 1}); p.res != want {
				t.Fatalf("second pass %+v, want %+v", p.res, want)
			}
			if after := b.count(t, `SELECT count(*) FROM delivery_feedback`); after != before {
				t.Errorf("second pass: %d reports, was %d", after, before)
			}
			if n := b.count(t, `SELECT count(*) FROM suppressions`); n != 8 {
				t.Errorf("second pass: %d suppressions, want 8", n)
			}
			next <- struct{}{}
			if p = <-passes; p.err != nil || p.res != (feedback.PassResult{}) {
				t.Fatalf("third pass %+v %v, want nothing read", p.res, p.err)
			}
		})
	}
}

// TestNewMailboxRefusesBadSettings: a bad URL says what to write, and never
// shows the password.
func TestNewMailboxRefusesBadSettings(t *testing.T) {
	t.Parallel()
	st := setup(t, store.SQLite, feedback.Options{}, time.Now()).st
	for _, c := range []struct{ url, processed, want string }{
		{"pop3://u:s3cret@mail.example/INBOX", "Processed", "imaps://user:password@host:993/INBOX"},
		{"imaps://mail.example/INBOX", "Processed", "has no user"},
		{"imaps://u:s3cret@mail.example/INBOX", "", "a folder, or \"delete\""},
	} {
		_, err := feedback.NewMailbox(feedback.MailboxOptions{URL: c.url, Processed: c.processed, Store: st})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want an error with %q and no password", c.url, err, c.want)
		}
	}
}
