package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

const birthdayYAML = `id: bday
name: Birthday
trigger: {birthday: {at: "09:00"}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email:
    subject: "Happy birthday {{ .external_id }}"
    text: "Happy birthday!"
`

// birthdayCustomer is one customer of the birthday test and the UTC instant
// the greeting is due (zero: never within the window).
type birthdayCustomer struct {
	zone     string
	birthday time.Time
	want     time.Time
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// nineLocal returns 09:00 on the given day in zone, in UTC.
func nineLocal(t testing.TB, zone string, y int, m time.Month, d int) time.Time {
	t.Helper()
	return time.Date(y, m, d, 9, 0, 0, 0, mustZone(t, zone)).UTC()
}

// TestBirthdayGreetsOnceAtNineLocalInEveryZone drives a fake clock in 15
// minute steps across 49 hours around 28 February 2025 (a real past, non-leap
// year, so asynq's ProcessAt times are already due), ticking the scheduler
// and the reconciler at each step. Customers in UTC-10, UTC+0, UTC+5:45 and
// UTC+14 each get exactly one greeting, sent at 09:00 their local time;
// 29 February birthdays are greeted on 28 February (and not on 1 March); a
// 1 March birthday in UTC+14 is greeted on its own day; firing the trigger 5
// more times on the day sends nothing more.
func TestBirthdayGreetsOnceAtNineLocalInEveryZone(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testBirthday(t, dialect)
		})
	}
}

func testBirthday(t *testing.T, dialect store.Dialect) {
	custs := []birthdayCustomer{
		{"Pacific/Honolulu", day(1990, 2, 28), nineLocal(t, "Pacific/Honolulu", 2025, 2, 28)},     // UTC-10
		{"Europe/London", day(1985, 2, 28), nineLocal(t, "Europe/London", 2025, 2, 28)},           // UTC+0 in winter
		{"Asia/Kathmandu", day(1970, 2, 28), nineLocal(t, "Asia/Kathmandu", 2025, 2, 28)},         // UTC+5:45
		{"Pacific/Kiritimati", day(2001, 2, 28), nineLocal(t, "Pacific/Kiritimati", 2025, 2, 28)}, // UTC+14
		{"Pacific/Kiritimati", day(2000, 2, 29), nineLocal(t, "Pacific/Kiritimati", 2025, 2, 28)}, // leap day
		{"Europe/London", day(1996, 2, 29), nineLocal(t, "Europe/London", 2025, 2, 28)},           // leap day
		{"Pacific/Kiritimati", day(1980, 3, 1), nineLocal(t, "Pacific/Kiritimati", 2025, 3, 1)},   // 1 March
		{"UTC", day(1990, 6, 15), time.Time{}},                                                    // not in the window
		{"Asia/Kathmandu", time.Time{}, time.Time{}},                                              // no birthday
	}
	// The offsets the issue names, checked so the test cannot drift.
	for i, off := range map[int]int{0: -10 * 3600, 1: 0, 2: 5*3600 + 45*60, 3: 14 * 3600} {
		if _, got := custs[i].want.In(mustZone(t, custs[i].zone)).Zone(); got != off {
			t.Fatalf("%s offset %d, want %d", custs[i].zone, got, off)
		}
	}
	b := setup(t, dialect)
	b.addCustomers(t, len(custs), func(i int, c *store.CustomerInput) {
		bc := custs[i-1]
		c.TimeZone = &bc.zone
		if !bc.birthday.IsZero() {
			c.Birthday = &bc.birthday
		}
	})
	start := time.Date(2025, 2, 27, 9, 0, 0, 0, time.UTC) // 23:00 on 27 Feb in UTC+14: before every birthday
	end := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)   // 1 March in every zone, past 09:00 in London
	clock := &fakeClock{t: start}
	c := b.campaign(t, birthdayYAML)
	e := b.engineWith(t, worker.Options{Now: clock.Now}, c)
	b.acceptWorker(t, e, workerConfig{})
	sched := &worker.Scheduler{Engine: e}
	ctx := context.Background()
	steps := 0
	began := time.Now()
	for now := start; !now.After(end); now = now.Add(15 * time.Minute) {
		clock.Set(now)
		if n, err := sched.Tick(ctx, now); err != nil || n != 1 {
			t.Fatalf("tick at %s: enqueued %d, err %v", now, n, err)
		}
		if _, err := e.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		b.waitSettled(t, "bday", now.Format("2006-01-02T15:04Z"), now, 20*time.Second)
		steps++
	}
	t.Logf("%d steps of 15 min in %s", steps, time.Since(began).Round(time.Millisecond))
	checkBirthdays(t, b, custs)

	// Fire the trigger 5 more times on the day, from morning in UTC+14 to
	// evening in UTC-10: every greeting exists, nothing more is sent.
	before := len(b.smtp.Messages())
	for i, h := range []int{0, 5, 10, 15, 20} {
		now := time.Date(2025, 2, 28, h, 30, 0, 0, time.UTC)
		clock.Set(now)
		key := fmt.Sprintf("again-%d", i)
		if err := e.Enqueue(ctx, "bday", key, now); err != nil {
			t.Fatal(err)
		}
		b.waitSettled(t, "bday", key, now, 20*time.Second)
	}
	b.waitIdle(t) // every task of the extra firings has run
	if got := len(b.smtp.Messages()); got != before {
		t.Fatalf("5 more firings sent %d more messages", got-before)
	}
	checkBirthdays(t, b, custs)
	if runs, _ := b.st.CountRuns(ctx, "bday"); runs != steps+5 {
		t.Errorf("campaign_runs has %d rows, want %d", runs, steps+5)
	}
}

// checkBirthdays compares the ledger and the SMTP server with the expected
// greetings: one sent row per greeted customer at 09:00 local (the fake
// clock), one message each, none for the others.
func checkBirthdays(t *testing.T, b *bundle, custs []birthdayCustomer) {
	t.Helper()
	rows := b.deliveries(t, "bday")
	got := b.receivedBy()
	greeted := 0
	for i, bc := range custs {
		ext, addr := fmt.Sprintf("c%d", i+1), fmt.Sprintf("customer%d@example.com", i+1)
		d, ok := rows[ext]
		if bc.want.IsZero() {
			if ok || got[addr] != 0 {
				t.Errorf("%s (%s, born %s) was greeted: row %v, %d messages", ext, bc.zone, bc.birthday.Format("01-02"), ok, got[addr])
			}
			continue
		}
		greeted++
		if !ok || d.Status != store.StatusSent || d.SentAt == nil {
			t.Errorf("%s (%s): ledger row %+v, want sent", ext, bc.zone, d)
			continue
		}
		local := d.SentAt.In(mustZone(t, bc.zone))
		if !d.SentAt.Equal(bc.want) || local.Hour() != 9 || local.Minute() != 0 {
			t.Errorf("%s (%s, born %s): sent_at %s (%s local), want %s", ext, bc.zone, bc.birthday.Format("01-02"),
				d.SentAt.UTC().Format(time.RFC3339), local.Format("Jan 2 15:04"), bc.want.Format(time.RFC3339))
		}
		if d.Occurrence != "2025" {
			t.Errorf("%s: occurrence %q, want 2025", ext, d.Occurrence)
		}
		if got[addr] != 1 {
			t.Errorf("%s: SMTP server received %d greetings, want 1", ext, got[addr])
		}
	}
	if len(rows) != greeted || len(b.smtp.Messages()) != greeted {
		t.Errorf("ledger has %d rows and SMTP %d messages, want %d each", len(rows), len(b.smtp.Messages()), greeted)
	}
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
