package bounce_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tidings-crm/tidings/channels/email/bounce"
)

const (
	verp  = "bounces+1001-5f2a9c0e7b1d3a46@bounce.shop.example"
	msgID = "tidings.1001@shop.example"
)

// TestParseCorpus reads each message of the corpus (real formats of
// Postfix, Exim, Exchange and Office 365, Gmail and Yahoo bounces, ARF
// complaints, auto-replies and a person's answer) to its class, recipient,
// kind and the original it is about.
func TestParseCorpus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file      string
		class     bounce.Class
		kind      bounce.Kind
		format    string
		recipient string
		status    string
		origID    string // the original's Message-ID; "" when none is returned
		verp      bool   // the VERP return path is among the addresses
	}{
		{"postfix-hard.eml", bounce.ClassReport, bounce.Hard, "dsn", "gone@example.net", "5.1.1", msgID, true},
		{"postfix-soft-full.eml", bounce.ClassReport, bounce.Soft, "dsn", "full@example.org", "4.2.2", msgID, true},
		{"postfix-delayed.eml", bounce.ClassReport, bounce.Delayed, "dsn", "slow@example.com", "4.4.1", msgID, true},
		{"exim-hard.eml", bounce.ClassReport, bounce.Hard, "exim", "nobody@example.com", "5.1.1", msgID, true},
		{"exim-soft-quota.eml", bounce.ClassReport, bounce.Soft, "exim", "stuffed@example.org", "4.2.2", msgID, true},
		{"exim-delay.eml", bounce.ClassReport, bounce.Delayed, "exim", "waiting@example.com", "4.7.1", "", true},
		{"exchange-o365-hard.eml", bounce.ClassReport, bounce.Hard, "dsn", "left.company@contoso.com", "5.1.10", msgID, true},
		{"exchange-legacy-hard.eml", bounce.ClassReport, bounce.Hard, "exchange", "former.staff@corp.example.com", "5.1.1", msgID, true},
		{"gmail-hard.eml", bounce.ClassReport, bounce.Hard, "dsn", "no.such.person.42@gmail.com", "5.1.1", msgID, true},
		{"gmail-soft-quota.eml", bounce.ClassReport, bounce.Soft, "dsn", "big.inbox@gmail.com", "5.2.2", msgID, true},
		{"yahoo-hard.eml", bounce.ClassReport, bounce.Hard, "qmail", "long.gone.2009@yahoo.com", "", msgID, true},
		{"yahoo-arf-complaint.eml", bounce.ClassReport, bounce.Complaint, "arf", "annoyed.reader@yahoo.com", "", msgID, true},
		{"arf-redacted-complaint.eml", bounce.ClassReport, bounce.Complaint, "arf", "", "", msgID, true},
		{"autoreply-gmail-vacation.eml", bounce.ClassAutoReply, "", "", "", "", "", true},
		{"autoreply-outlook.eml", bounce.ClassAutoReply, "", "", "", "", "", true},
		{"autoreply-plain-ooo.eml", bounce.ClassAutoReply, "", "", "", "", "", true},
		{"person-reply.eml", bounce.ClassOther, "", "", "", "", "", true},
		// A person's reply quoting an Exim bounce is no bounce.
		{"person-quoting-bounce.eml", bounce.ClassOther, "", "", "", "", "", true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := bounce.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.Class != c.class {
				t.Fatalf("class %q, want %q (reports %+v)", m.Class, c.class, m.Reports)
			}
			if m.ID == "" {
				t.Error("no id")
			}
			if got := slices.Contains(m.Addresses, verp); got != c.verp {
				t.Errorf("VERP among addresses = %v, want %v (%q)", got, c.verp, m.Addresses)
			}
			if c.class != bounce.ClassReport {
				if len(m.Reports) != 0 {
					t.Fatalf("a %s has reports: %+v", c.class, m.Reports)
				}
				return
			}
			if m.OriginalMessageID != c.origID {
				t.Errorf("original Message-ID %q, want %q", m.OriginalMessageID, c.origID)
			}
			if len(m.Reports) != 1 {
				t.Fatalf("%d reports, want 1: %+v", len(m.Reports), m.Reports)
			}
			r := m.Reports[0]
			if r.Kind != c.kind || r.Format != c.format || r.Recipient != c.recipient || r.Status != c.status {
				t.Errorf("report %+v, want kind %q format %q recipient %q status %q", r, c.kind, c.format, c.recipient, c.status)
			}
			if r.Diagnostic == "" {
				t.Error("no diagnostic")
			}
		})
	}
}

// TestParseDSNOfTwoRecipients: a DSN about two recipients is two reports,
// each with its own kind.
func TestParseDSNOfTwoRecipients(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/postfix-two-recipients.eml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := bounce.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(m.Reports))
	for i, r := range m.Reports {
		got[i] = r.Recipient + " " + string(r.Kind) + " " + r.Status
	}
	want := []string{"first.gone@example.net hard 5.1.1", "second.full@example.net soft 5.2.2"}
	if !slices.Equal(got, want) || m.OriginalMessageID != msgID {
		t.Errorf("reports %q about %q, want %q about %q", got, m.OriginalMessageID, want, msgID)
	}
}

// TestParseRefusesNonMail: bytes that are not a message are an error, not a
// report.
func TestParseRefusesNonMail(t *testing.T) {
	t.Parallel()
	if _, err := bounce.Parse([]byte("no header here")); err == nil {
		t.Fatal("want an error")
	}
}

// FuzzParse: no input crashes the parser, and every report it returns has a
// kind.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := bounce.Parse(raw)
		if err != nil {
			return
		}
		for _, r := range m.Reports {
			if r.Kind == "" {
				t.Fatalf("report without a kind: %+v", r)
			}
		}
	})
}

// BenchmarkParse parses the whole corpus once per iteration; the
// messages/s figure bounds what a mailbox pass can read (IMAP and the
// database cost more).
func BenchmarkParse(b *testing.B) {
	files, _ := filepath.Glob("testdata/*.eml")
	var raws [][]byte
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, raw := range raws {
			if _, err := bounce.Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(raws))/b.Elapsed().Seconds(), "msgs/s")
}
