package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

const surveySMSSecret = "whsec_c3VydmV5LXNtcy1pbmJvdW5kLXNlY3JldC10ZXN0cw=="

// TestSurveyAnsweredByLinkAndSMSReply is the acceptance of surveys, on both
// databases, through the served routes and the shipped examples
// (nps-survey, detractor-alert): a click on an answer link sets the
// customer's nps once (the same click again changes nothing, another score
// replaces it), a numeric SMS reply answers the SMS survey, a reply off
// the scale asks again and changes nothing, STOP still opts out, and each
// detractor answer (not the promoter one) plans the team's alert.
func TestSurveyAnsweredByLinkAndSMSReply(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := surveyWorld(t, d)
			get := func(link string) string {
				t.Helper()
				resp, err := http.Get(link)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %s\n%s", link, resp.Status, b)
				}
				return string(b)
			}
			link := surveyURL(w.rt.signer, w.srv)

			if page := get(link(w.annMail, campaigns.SurveyNPS, 3)); !strings.Contains(page, "3 out of 10") {
				t.Errorf("thank-you page does not show the answer:\n%s", page)
			}
			get(link(w.annMail, campaigns.SurveyNPS, 3)) // the same click again
			w.check(t, "ann", 3, 1)
			w.react(t, store.SurveyEventID(w.annMail.ID, 1))
			w.alerts(t, 1)

			get(link(w.annMail, campaigns.SurveyNPS, 9)) // changed their mind: a promoter
			w.check(t, "ann", 9, 2)
			w.react(t, store.SurveyEventID(w.annMail.ID, 2))
			w.alerts(t, 1)

			if reply := w.sms(t, "sms-1", "4"); !strings.Contains(reply, "Thank you") {
				t.Errorf("reply to a score: %q", reply)
			}
			w.check(t, "bob", 4, 1)
			w.react(t, store.SurveyEventID(w.bobSMS.ID, 1))
			w.alerts(t, 2)
			if reply := w.sms(t, "sms-2", "42"); !strings.Contains(reply, "from 0 to 10") {
				t.Errorf("reply to a score off the scale: %q", reply)
			}
			w.check(t, "bob", 4, 1)
			w.sms(t, "sms-3", "STOP")
			if stopped, err := w.st.IsSuppressed(ctx, channels.SMS, "+33612345678"); err != nil || !stopped {
				t.Errorf("STOP after a survey: suppressed %v, %v", stopped, err)
			}
			w.reported(t)
		})
	}
}

type surveyFixture struct {
	st              *store.Store
	rt              *runtime
	srv             string
	annMail, bobSMS *store.Delivery
}

// surveyWorld serves the examples nps-survey and detractor-alert over a
// database where ann got the survey by email and bob by SMS.
func surveyWorld(t *testing.T, d store.Dialect) *surveyFixture {
	t.Helper()
	ctx := context.Background()
	dbURL, dir := storetest.URL(t, d), t.TempDir()
	for _, name := range []string{"nps-survey.yaml", "detractor-alert.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../examples/campaigns", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mail, phone, yes := "ann@example.com", "+33612345678", true
	if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "ann", Email: &mail, EmailConsent: &yes},
		{ExternalID: "bob", Phone: &phone, SMSConsent: &yes}}); err != nil {
		t.Fatal(err)
	}
	f := &surveyFixture{st: st}
	now := time.Now().Add(-time.Hour)
	f.annMail = sentSurvey(t, st, "ann", channels.Email, mail, now)
	f.bobSMS = sentSurvey(t, st, "bob", channels.SMS, phone, now)
	rt, srv := serveRuntime(t, []string{"--database-url", dbURL, "--campaigns", dir, "--sms-inbound-secret", surveySMSSecret})
	f.rt, f.srv = rt, srv.URL
	return f
}

// sentSurvey seeds a sent nps-survey message to customer ext.
func sentSurvey(t *testing.T, st *store.Store, ext string, ch channels.Name, addr string, at time.Time) *store.Delivery {
	t.Helper()
	ctx := context.Background()
	c, err := st.CustomerByExternalID(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	in, err := st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: "nps-survey", CustomerID: c.ID,
		Occurrence: "2026-12", Channel: ch, Status: store.StatusPending}}, at)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Claim(t, st, in[0].ID, "tok", addr, at)
	if ok, err := st.FinishDelivery(ctx, in[0].ID, "tok", store.StatusSent, "", "", at); !ok || err != nil {
		t.Fatal(ok, err)
	}
	d, err := st.Delivery(ctx, in[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// check holds customer ext's nps and count of nps_answered events.
func (f *surveyFixture) check(t *testing.T, ext string, nps, events int) {
	t.Helper()
	ctx := context.Background()
	c, err := f.st.CustomerByExternalID(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := f.st.CustomerEvents(ctx, c.ID, "nps_answered", 100)
	if err != nil {
		t.Fatal(err)
	}
	if c.NPS != nps || len(evs) != events {
		t.Errorf("%s: nps %d with %d answer events, want %d with %d", ext, c.NPS, len(evs), nps, events)
	}
}

// react runs the reaction to an answer event (the task the answer
// enqueued; running it twice is harmless).
func (f *surveyFixture) react(t *testing.T, eventID string) {
	t.Helper()
	if err := f.rt.engine.ProcessEvent(context.Background(), eventID); err != nil {
		t.Fatal(err)
	}
}

// alerts holds the number of detractor alerts planned.
func (f *surveyFixture) alerts(t *testing.T, want int) {
	t.Helper()
	n, err := f.st.CampaignCounts(context.Background(), "detractor-alert")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, k := range n {
		got += k
	}
	if got != want {
		t.Errorf("detractor alerts planned: %d (%v), want %d", got, n, want)
	}
}

// sms posts a signed inbound SMS from bob and returns the TwiML answer.
func (f *surveyFixture) sms(t *testing.T, id, body string) string {
	t.Helper()
	form := url.Values{"From": {"+33612345678"}, "Body": {body}}.Encode()
	h, err := triggers.SignHeaders(surveySMSSecret, id, time.Now(), []byte(form))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv+"/v1/sms/inbound", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inbound SMS %q: %s %s", body, resp.Status, b)
	}
	return string(b)
}

// reported holds the report and the satisfaction page to the answers:
// ann's latest (9, a promoter) and bob's (4, a detractor) count, ann's
// first answer does not.
func (f *surveyFixture) reported(t *testing.T) {
	t.Helper()
	admin := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, f.srv+path, nil)
		req.Header.Set("Authorization", "Bearer s3cret-admin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
		}
		return b
	}
	var rep worker.Report
	if err := json.Unmarshal(admin("/v1/campaigns/nps-survey/report"), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Surveys) != 1 {
		t.Fatalf("report surveys: %+v, want one NPS entry", rep.Surveys)
	}
	s := rep.Surveys[0]
	if s.Kind != campaigns.SurveyNPS || s.Responses != 2 || s.Promoters != 1 || s.Detractors != 1 || s.NPS == nil ||
		s.NPS.Score != 0 || s.NPS.Low >= 0 || s.NPS.High <= 0 {
		t.Errorf("report survey: %+v (nps %+v), want 2 answers, 1 promoter, 1 detractor, NPS 0 inside its interval", s, s.NPS)
	}
	page := string(admin("/dashboard/surveys"))
	for _, want := range []string{`id="nps-chart"`, `href="/dashboard/campaigns/nps-survey"`, "0 (-"} {
		if !strings.Contains(page, want) {
			t.Errorf("satisfaction page lacks %q", want)
		}
	}
}
