package campaigns

import (
	"strings"
	"testing"
)

const topicCampaign = `id: news
name: News
trigger:
  schedule: {cron: "0 10 * * MON", time_zone: "Europe/Paris"}
audience: email_consent && subscribed("offers")
channels: [email]
topic: newsletter
messages:
  email: {subject: "Hi", text: "News"}
`

// TestTopicIsAConfiguredOne: a campaign's topic and its rules' subscribed()
// name configured topics, or the file reports where and what to write.
func TestTopicIsAConfiguredOne(t *testing.T) {
	t.Parallel()
	topics, err := ParseTopics("newsletter=Weekly newsletter, offers")
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{Topics: topics}
	c, problems := s.Parse("news.yaml", []byte(topicCampaign))
	if c == nil || c.Topic != "newsletter" || !c.ReadsTopics() {
		t.Fatalf("valid file: %v, %v", c, problems)
	}
	cases := []struct{ edit, want string }{
		{"topic: newslettr", `news.yaml:7:8: topic "newslettr" is not a configured topic (TIDINGS_TOPICS lists newsletter, offers); did you mean "newsletter"?`},
		{"topic: [newsletter]", `news.yaml:7:8:`},
	}
	for _, tc := range cases {
		src := strings.Replace(topicCampaign, "topic: newsletter", tc.edit, 1)
		_, problems := s.Parse("news.yaml", []byte(src))
		if len(problems) == 0 || !strings.HasPrefix(problems[0].String(), tc.want) {
			t.Errorf("%s: got %v, want %s", tc.edit, problems, tc.want)
		}
	}
	src := strings.Replace(topicCampaign, `subscribed("offers")`, `subscribed("offer")`, 1)
	if _, problems := s.Parse("news.yaml", []byte(src)); len(problems) == 0 ||
		!strings.HasPrefix(problems[0].String(), `news.yaml:5:39: audience: subscribed: "offer" is not a configured topic; did you mean "offers"?`) {
		t.Errorf("subscribed typo: %v", problems)
	}
	if _, problems := Parse("news.yaml", []byte(topicCampaign)); len(problems) != 2 ||
		!strings.Contains(problems[1].String(), "none are configured") {
		t.Errorf("no topics configured: %v", problems)
	}
}

func TestParseTopics(t *testing.T) {
	t.Parallel()
	got, err := ParseTopics(" newsletter = Weekly newsletter ,offers,")
	if err != nil || len(got) != 2 || got[0] != (Topic{"newsletter", "Weekly newsletter"}) || got[1] != (Topic{"offers", "offers"}) {
		t.Fatalf("ParseTopics = %v, %v", got, err)
	}
	for _, bad := range []string{"News Letter", "a,a", "=Label"} {
		if _, err := ParseTopics(bad); err == nil {
			t.Errorf("ParseTopics(%q) accepted", bad)
		}
	}
}
