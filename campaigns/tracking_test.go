package campaigns_test

import (
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/campaigns"
)

const trackedHead = `id: news
name: News
trigger: {schedule: {cron: "0 10 * * 1", time_zone: UTC}}
audience: "true"
channels: [email]
`

// TestTrackingOption: tracking is off unless the file turns it on; its
// values are checked, and a tracking that cannot measure anything warns.
func TestTrackingOption(t *testing.T) {
	t.Parallel()
	html := "messages: {email: {subject: hi, html: \"<p><a href='https://shop.example/'>shop</a></p>\"}}\n"
	text := "messages: {email: {subject: hi, text: hello}}\n"
	cases := []struct {
		name, src string
		want      campaigns.Tracking
		problem   string // a substring of the one problem expected; "" for none
	}{
		{"off by default", trackedHead + html, campaigns.Tracking{}, ""},
		{"both on", trackedHead + "tracking: {opens: true, clicks: true}\n" + html, campaigns.Tracking{Opens: true, Clicks: true}, ""},
		{"clicks only", trackedHead + "tracking: {clicks: true}\n" + html, campaigns.Tracking{Clicks: true}, ""},
		{"not a boolean", trackedHead + "tracking: {opens: yes please}\n" + html, campaigns.Tracking{}, "tracking.opens must be true or false"},
		{"unknown key", trackedHead + "tracking: {open: true}\n" + html, campaigns.Tracking{}, `"open"`},
		{"empty", trackedHead + "tracking: {}\n" + html, campaigns.Tracking{}, "tracking needs opens or clicks"},
		{"text only warns", trackedHead + "tracking: {opens: true}\n" + text, campaigns.Tracking{Opens: true}, "no html part"},
	}
	for _, tc := range cases {
		c, problems := campaigns.Parse("news.yaml", []byte(tc.src))
		if tc.problem == "" {
			if len(problems) != 0 || c == nil {
				t.Errorf("%s: problems %v", tc.name, problems)
				continue
			}
		} else if len(problems) != 1 || !strings.Contains(problems[0].String(), tc.problem) {
			t.Errorf("%s: problems %v, want one with %q", tc.name, problems, tc.problem)
			continue
		}
		if c != nil && c.Tracking != tc.want {
			t.Errorf("%s: tracking %+v, want %+v", tc.name, c.Tracking, tc.want)
		}
	}
}

// TestWaitForClick: a journey may wait for `click` (or `open`), the events
// tracked emails write.
func TestWaitForClick(t *testing.T) {
	t.Parallel()
	j := parseJourney(t, eventJourney+`  - id: hello
    send: {channels: [email], messages: {email: {subject: hi, html: "<a href='https://shop.example/'>shop</a>"}}}
  - id: clicked
    wait_for: {event: click, timeout: 3d, on_event: thanks}
  - id: opened
    wait_for: {event: open, timeout: 1d}
  - id: thanks
    exit: done
`)
	if got := j.Step("clicked").WaitFor.Event; got != "email_clicked" {
		t.Errorf("wait_for click waits for %q, want email_clicked", got)
	}
	if got := j.Step("opened").WaitFor.Event; got != "email_opened" {
		t.Errorf("wait_for open waits for %q, want email_opened", got)
	}
}
