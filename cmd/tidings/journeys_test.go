package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// journeyWorld is a SQLite store with the example win-back journey and two
// customers who bought twice in 2026: ana in Paris (French, takes email and
// SMS) and bob in New York (email only).
func journeyWorld(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	src, err := os.ReadFile("../../examples/campaigns/win-back-sequence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, flags := cliWorld(t, "win-back-sequence.yaml", string(src))
	if err := os.WriteFile(filepath.Join(flags[len(flags)-1], "paths.yaml"), []byte(pathsJourney), 0o644); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	str := func(s string) *string { return &s }
	if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{
		{ExternalID: "ana", Email: str("ana@example.com"), Phone: str("+33612345678"), FirstName: str("Ana"), Locale: str("fr"),
			TimeZone: str("Europe/Paris"), EmailConsent: &yes, SMSConsent: &yes},
		{ExternalID: "bob", Email: str("bob@example.com"), FirstName: str("Bob"), Locale: str("en-US"),
			TimeZone: str("America/New_York"), EmailConsent: &yes, SMSConsent: &no},
	}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"ana", "ana", "bob", "bob"} {
		if _, err := st.UpsertPurchases(ctx, []store.PurchaseInput{{OrderID: c + string(rune('0'+i)), CustomerExternalID: c,
			AmountCents: 4200, OccurredAt: time.Date(2026, 9, 1+i, 12, 0, 0, 0, time.UTC)}}); err != nil {
			t.Fatal(err)
		}
	}
	return flags
}

// pathsJourney has a split, an update, a wait for a weekday and a
// wait_for, where a preview stops.
const pathsJourney = `id: paths
name: Paths
trigger: {event: {type: purchase}}
audience: "true"
steps:
  - id: thanks
    send:
      channels: [sms, email]
      messages:
        email: {subject: "Thanks {{ .first_name }}", text: "Thank you."}
        sms: {text: "Thanks"}
  - id: ab
    split:
      - {arm: short, next: tag}
      - {arm: long, next: tag}
  - id: tag
    update: {tag: thanked, untag: lapsed, attributes: {tier: gold, old: null}}
  - id: note
    send: {channels: [email], messages: {email: {subject: "Note", text: "You are in arm {{ .journey.arm }}."}}}
  - id: until-monday
    wait: {until: {weekday: MON, at: "09:00"}}
  - id: more
    wait_for: {event: purchase, where: "event.amount > 20", timeout: 2d, on_event: bye}
  - id: remind
    send: {channels: [email], messages: {email: {subject: "Reminder", text: "Still there?"}}}
  - id: bye
    exit: bought-again
`

// TestPreviewJourneyPrintsThePath: preview of a journey on a real SQLite
// store prints each step of the customer's path from --at: the message of
// each send step on the channel that carries it, in the customer's
// language; the branch taken and why; the waits' wake times in the
// customer's zone (72 hours over Paris's spring-forward night end at 11:00,
// a wait until 10:00 at 10:00 local); a split's arm, which the next
// message reads as .journey.arm; and it stops at a wait_for with both
// outcomes.
func TestPreviewJourneyPrintsThePath(t *testing.T) {
	t.Parallel()
	flags := journeyWorld(t)
	preview := func(journey, who string) string {
		t.Helper()
		code, out, errOut := cli(t, append(flags, "preview", journey, "--customer", who, "--at", "2027-03-26T09:00:00Z")...)
		if code != 0 {
			t.Fatalf("preview %s %s: exit %d\n%s%s", journey, who, code, out, errOut)
		}
		return out
	}
	paths := map[string][]string{"ana": {
		"path from Fri 2027-03-26 10:00 CET, zone Europe/Paris (stated), occurrence preview;\n",
		"\n1. first-email (send) at Fri 2027-03-26 10:00 CET: sent by email\n\n=== email (variant -, locale fr) ===\nSubject: Vous nous manquez, Ana\n",
		"Revenez avec 10% de réduction : code COMEBACK10.",
		"\n2. pause (wait) at Fri 2027-03-26 10:00 CET: wait 3d, wakes Mon 2027-03-29 11:00 CEST\n   then: sms-or-wait\n",
		"\n3. sms-or-wait (branch) at Mon 2027-03-29 11:00 CEST: \"sms_consent && phone != \\\"\\\"\" holds\n   then: nudge\n",
		"\n4. nudge (send) at Mon 2027-03-29 11:00 CEST: sent by sms\n\n=== sms (variant -, locale fr) ===\nToujours 10% de réduction avec COMEBACK10.",
		"\n5. long-pause (wait) at Mon 2027-03-29 11:00 CEST: wait 7d, then 10:00, wakes Tue 2027-04-06 10:00 CEST\n   then: last-chance\n",
		"\n6. last-chance (send) at Tue 2027-04-06 10:00 CEST: sent by email\n\n=== email (variant -, locale fr) ===\nSubject: Une dernière offre de 25%, Ana\n",
		"   then: end of the journey (completed)\n",
	}, "bob": {
		"\n2. pause (wait) at Fri 2027-03-26 05:00 EDT: wait 3d, wakes Mon 2027-03-29 05:00 EDT\n",
		"\n3. sms-or-wait (branch) at Mon 2027-03-29 05:00 EDT: no rule holds (1 checked): else\n   then: long-pause\n",
		"\n4. long-pause (wait) at Mon 2027-03-29 05:00 EDT: wait 7d, then 10:00, wakes Mon 2027-04-05 10:00 EDT\n",
		"\n5. last-chance (send) at Mon 2027-04-05 10:00 EDT: sent by email\n\n=== email (variant -, locale en-US) ===\nSubject: A last 25% for you, Bob\n",
	}}
	for who, wants := range paths {
		out := preview("win-back-sequence", who)
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("%s's path lacks %q:\n%s", who, want, out)
			}
		}
		if who == "bob" && strings.Contains(out, "nudge") {
			t.Errorf("bob takes no SMS, yet his path goes through the nudge:\n%s", out)
		}
	}

	bobID := customerID(t, flags, "bob")
	j, problems := campaigns.Parse("paths.yaml", []byte(pathsJourney))
	if campaigns.HasErrors(problems) {
		t.Fatal(problems)
	}
	arm := j.Journey.Arm(j.Journey.Step("ab"), bobID, "preview").ID
	want := `audience: customer bob is in the audience now: they would enter the journey
path from Fri 2027-03-26 05:00 EDT, zone America/New_York (stated), occurrence preview;
assuming every message the customer can receive is sent and no purchase or exit_on event comes:

1. thanks (send) at Fri 2027-03-26 05:00 EDT: sent by email

=== email (variant -, locale en-US) ===
Subject: Thanks Bob

Thank you.
   then: ab

2. ab (split) at Fri 2027-03-26 05:00 EDT: arm ` + arm + ` (weight 1 of 2)
   then: tag

3. tag (update) at Fri 2027-03-26 05:00 EDT: tag thanked; untag lapsed; remove old; set tier = gold
   then: note

4. note (send) at Fri 2027-03-26 05:00 EDT: sent by email

=== email (variant -, locale en-US) ===
Subject: Note

You are in arm ` + arm + `.
   then: until-monday

5. until-monday (wait) at Fri 2027-03-26 05:00 EDT: wait until MON 09:00, wakes Mon 2027-03-29 09:00 EDT
   then: more

6. more (wait_for) at Mon 2027-03-29 09:00 EDT: wait for purchase where "event.amount > 20", up to 2d
   on a matching event by Wed 2027-03-31 09:00 EDT: bye
   on timeout: remind
preview stops here: the way on depends on what the customer does
`
	if got := preview("paths", "bob"); got != want {
		t.Errorf("paths for bob:\n%s\nwant:\n%s", got, want)
	}
}

// customerID reads a customer's id from the world's store.
func customerID(t *testing.T, flags []string, ext string) int64 {
	t.Helper()
	st := openURL(t, flags[1])
	c, err := st.CustomerByExternalID(context.Background(), ext)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestValidateReportsJourneyProblems: validate prints a journey's problems
// at their file:line:col and fails; the example journey is valid.
func TestValidateReportsJourneyProblems(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../examples/campaigns/win-back-sequence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), "      - else: long-pause", "      - else: long-paus", 1)
	if broken == string(src) {
		t.Fatal("the example no longer has its else: long-pause; update the test")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "journey.yaml")
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli(t, "validate", dir)
	want := path + `:47:15: steps.sms-or-wait.branch.else: unknown step "long-paus"; did you mean "long-pause"?`
	if code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("validate: exit %d\n%s\nwant 1 and %s", code, out, want)
	}
}
