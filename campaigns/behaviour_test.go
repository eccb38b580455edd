package campaigns

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/rules"
)

// mini is a small valid campaign; tests splice messages into it.
const mini = `id: mini
name: Mini
trigger:
  event: {type: purchase}
audience: "true"
channels: [email, sms]
offer: {code: HELLO}
variants:
  - id: a
  - id: b
    weight: 3
    messages:
      email:
        subject: "B {{ .offer.code }}"
        locales:
          fr: {subject: "B fr"}
messages:
`

func parseMini(t *testing.T, messages string) *Campaign {
	t.Helper()
	c, problems := Parse("mini.yaml", []byte(mini+messages))
	if c == nil {
		t.Fatalf("parse: %v", problems)
	}
	return c
}

const miniMessages = `  email:
    subject: Hello {{ .first_name }}
    text: |
      Hi {{ .first_name }}, spent {{ money .total_spent "EUR" }}, nick {{ .attributes.nickname }}.
    html: <p>Hi {{ .first_name }} <a href="{{ .unsubscribe_url }}">x</a></p>
    locales:
      fr:
        subject: Bonjour {{ .first_name }}
        text: Salut {{ .first_name }}, {{ money .total_spent "EUR" }}, {{ date .birthday "long" }}
        html: <p>Salut {{ .first_name }}</p>
  sms:
    text: '{{ title .first_name }}: code {{ .offer.code }}'
`

func TestRenderBehaviour(t *testing.T) {
	c := parseMini(t, miniMessages)
	env := sampleEnv("en")
	env.FirstName = `<b>Ada</b> & "co"`
	env.Attributes = map[string]any{}
	data := c.Data(env, "", "https://x.example/u?a=1&b=2")
	cases := []struct {
		name, channel, locale, variant string
		check                          func(r Rendered) bool
	}{
		{"html is escaped, text is not", "email", "en", "", func(r Rendered) bool {
			return strings.Contains(r.HTML, "<p>Hi &lt;b&gt;Ada&lt;/b&gt; &amp; &#34;co&#34;") &&
				strings.Contains(r.HTML, `href="https://x.example/u?a=1&amp;b=2"`) &&
				strings.HasPrefix(r.Text, `Hi <b>Ada</b> & "co", spent €1,234.50`)
		}},
		{"missing attribute renders empty", "email", "en", "", func(r Rendered) bool {
			return strings.Contains(r.Text, "nick .") && !strings.Contains(r.Text, "no value")
		}},
		{"fr-CA falls back to fr", "email", "fr-CA", "", func(r Rendered) bool {
			return strings.HasPrefix(r.Subject, "Bonjour") && strings.Contains(r.Text, "1 234,50 €, 2 mars")
		}},
		{"unknown locale uses the default", "email", "ja-JP", "", func(r Rendered) bool {
			return strings.HasPrefix(r.Subject, "Hello ")
		}},
		{"variant overrides the subject only", "email", "en", "b", func(r Rendered) bool {
			return r.Subject == "B HELLO" && strings.HasPrefix(r.Text, "Hi ")
		}},
		{"variant locale beats campaign locale", "email", "fr", "b", func(r Rendered) bool {
			return r.Subject == "B fr" && strings.HasPrefix(r.Text, "Salut")
		}},
		{"variant without messages uses the campaign's", "email", "en", "a", func(r Rendered) bool {
			return strings.HasPrefix(r.Subject, "Hello ")
		}},
		{"sms uses text only", "sms", "en", "", func(r Rendered) bool {
			return r.Text == `<B>Ada</B> & "Co": code HELLO` && r.Subject == "" && r.HTML == ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Render(c, Channel(tc.channel), tc.locale, tc.variant, data)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(r) {
				t.Errorf("unexpected render:\n%s", formatRendered(r))
			}
		})
	}
}

func TestRenderErrorsAreReturned(t *testing.T) {
	c := parseMini(t, miniMessages)
	data := TemplateData(sampleEnv("en"))
	data["total_spent"] = "lots" // wrong type at run time
	if _, err := Render(c, "email", "en", "", data); err == nil || !strings.Contains(err.Error(), `money: "lots" is not a number`) {
		t.Errorf("err = %v, want the money error", err)
	}
	if _, err := Render(c, "email", "en", "zzz", data); err == nil || !strings.Contains(err.Error(), `unknown variant "zzz"`) {
		t.Errorf("err = %v, want unknown variant", err)
	}
	if _, err := Render(c, "fax", "en", "", data); err == nil {
		t.Error("want an error for an unknown channel")
	}
	// Render adds .offer/.campaign/.variant when the caller did not.
	r, err := Render(c, "sms", "en", "", TemplateData(sampleEnv("en")))
	if err != nil || r.Text != "Ada: code HELLO" {
		t.Errorf("Render = %q, %v", r.Text, err)
	}
}

func TestTemplatePositionsPerScalarStyle(t *testing.T) {
	cases := []struct{ name, sms, want string }{
		{"plain", "    text: Hi {{ .frist_name }}\n", "mini.yaml:29:18:"},
		{"single-quoted", "    text: 'It''s {{ .frist_name }}'\n", "mini.yaml:29:22:"},
		{"double-quoted", "    text: \"\\\"Hi\\\" {{ .frist_name }}\"\n", "mini.yaml:29:23:"},
		{"literal", "    text: |\n      Hi\n        {{ .frist_name }}\n", "mini.yaml:31:13:"},
		{"folded", "    text: >\n      Hi there\n      and {{ .frist_name }}\n", "mini.yaml:31:15:"},
		{"plain multi-line", "    text: Hi\n      there {{ .frist_name }}\n", "mini.yaml:30:17:"},
		{"parse error", "    text: Hi {{ .first_name \n", "mini.yaml:29:14: messages.sms.text: template: unclosed action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := mini + strings.Replace(miniMessages, "    text: '{{ title .first_name }}: code {{ .offer.code }}'\n", tc.sms, 1)
			_, problems := Parse("mini.yaml", []byte(src))
			if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), tc.want) {
				t.Errorf("problems = %v, want one starting with %q", problems, tc.want)
			}
		})
	}
}

func TestWarningsDoNotReject(t *testing.T) {
	long := strings.Repeat("Big news! ", 20)
	c, problems := Parse("mini.yaml", []byte(mini+strings.Replace(miniMessages, "'{{ title .first_name }}: code {{ .offer.code }}'", long, 1)))
	if c == nil || len(problems) != 1 || problems[0].Severity != SeverityWarning {
		t.Fatalf("want a campaign and one warning, got %v", problems)
	}
	want := "mini.yaml:29:11: warning: messages.sms.text: 199 characters before substitution, more than one SMS segment (160)"
	if problems[0].String() != want {
		t.Errorf("got %s\nwant %s", problems[0], want)
	}
}

func TestFormats(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		locale, style, date string
		amount              float64
		currency, money     string
	}{
		{"en-GB", "long", "2 March", 12.5, "EUR", "€12.50"},
		{"en-US", "long", "March 2", 1234567.891, "USD", "$1,234,567.89"},
		{"en", "full", "March 2, 2026", 12.5, "GBP", "£12.50"},
		{"fr", "long", "2 mars", 12.5, "EUR", "12,50 €"},
		{"fr-CA", "full", "2 mars 2026", 1234.5, "EUR", "1 234,50 €"},
		{"de-DE", "long", "2. März", 1234.5, "EUR", "1.234,50 €"},
		// Separators are the customer's locale's (CLDR via x/text): Austria
		// groups digits with a (no-break, written plain) space, Mexico
		// writes a decimal point; the symbol's side follows the language.
		{"de-AT", "long", "2. März", 1234.5, "EUR", "1 234,50 €"},
		{"es-MX", "long", "2 de marzo", 1234.5, "EUR", "1,234.50 EUR"}, // CLDR es-MX: the euro by its code
		{"en_GB", "long", "2 March", 12.5, "USD", "US$12.50"},
		{"en-CA", "long", "March 2", 12.5, "CAD", "$12.50"},
		{"en", "long", "March 2", 12.5, "CAD", "CA$12.50"},
		{"de", "short", "02.03.2026", -3, "CHF", "-3,00 CHF"},
		{"es", "full", "2 de marzo de 2026", 12.5, "EUR", "12,50 €"},
		{"nl", "long", "2 maart", 12.5, "EUR", "€ 12,50"},
		// CLDR's Italian symbol for the yen is its code; pt-BR writes a
		// decimal comma; an unknown code prints itself with two digits.
		{"it", "long", "2 marzo", 1000, "JPY", "1.000 JPY"},
		{"pt-BR", "iso", "2026-03-02", 12.5, "SEK", "SEK 12,50"},
		{"en", "iso", "2026-03-02", 12.5, "xyz", "XYZ 12.50"},
		{"ja", "iso", "2026-03-02", 1234.5, "JPY", "￥1,234"},
	} {
		f := funcMap(tc.locale)
		d, err := f["date"].(func(any, ...string) (string, error))(day, tc.style)
		if err != nil || d != tc.date {
			t.Errorf("%s date %s = %q, %v; want %q", tc.locale, tc.style, d, err, tc.date)
		}
		m, err := f["money"].(func(any, string) (string, error))(tc.amount, tc.currency)
		if err != nil || m != tc.money {
			t.Errorf("%s money = %q, %v; want %q", tc.locale, m, err, tc.money)
		}
	}
	if got := defaultValue("there", ""); got != "there" {
		t.Errorf("default on empty = %v", got)
	}
	if got := defaultValue("there", 0); got != 0 {
		t.Errorf("default on 0 = %v, want 0 kept", got)
	}
}

func TestOccurrence(t *testing.T) {
	paris, _ := time.LoadLocation("Pacific/Auckland")
	newYear := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC) // already 2027 in Auckland
	for _, tc := range []struct {
		in   string
		want Occurrence
		key  string
	}{
		{"once per year", Occurrence{Kind: OncePerYear}, "2027"},
		{"once_per_year", Occurrence{Kind: OncePerYear}, "2027"},
		{"Once per 180 days", Occurrence{Kind: OncePerDays, Days: 180}, "run-7"},
		{"once_per_30_days", Occurrence{Kind: OncePerDays, Days: 30}, "run-7"},
		{"once ever", Occurrence{Kind: OnceEver}, "ever"},
		{"once_ever", Occurrence{Kind: OnceEver}, "ever"},
		{"every run", Occurrence{Kind: EveryRun}, "run-7"},
	} {
		o, err := ParseOccurrence(tc.in)
		if err != nil || o != tc.want {
			t.Errorf("ParseOccurrence(%q) = %v, %v", tc.in, o, err)
		}
		if k := o.Key(newYear, paris, "run-7"); k != tc.key {
			t.Errorf("%q Key = %q, want %q", tc.in, k, tc.key)
		}
	}
	if (Occurrence{Kind: OncePerDays, Days: 180}).Lookback() != 180*24*time.Hour {
		t.Error("Lookback of once per 180 days")
	}
	for _, bad := range []string{"twice", "once per 0 days", "once per -3 days", ""} {
		if _, err := ParseOccurrence(bad); err == nil {
			t.Errorf("ParseOccurrence(%q) accepted", bad)
		}
	}
}

func TestDurationsAndClock(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "2h": 2 * time.Hour,
		"1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "0.5d": 12 * time.Hour} {
		if d, err := ParseDuration(in); err != nil || d != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, d, err)
		}
	}
	for _, bad := range []string{"", "7", "d", "-2h", "2 weeks", "7dd"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	if ct, err := ParseClock("09:05"); err != nil || ct.String() != "09:05" {
		t.Errorf("ParseClock = %v, %v", ct, err)
	}
}

func TestExampleSemantics(t *testing.T) {
	byID := loadExamples(t)
	b := byID["birthday-greeting"]
	if b.Holdout != 0.1 || b.Occurrence.Kind != OncePerYear || b.Trigger.Birthday.At != (ClockTime{9, 0}) ||
		len(b.Channels) != 2 || b.Channels[0] != Email || b.Offer["code"] != "BDAY15" || b.AttributionWindow != 14*24*time.Hour {
		t.Errorf("birthday-greeting parsed wrong: %+v", b)
	}
	w := byID["win-back-90d"]
	in := w.Trigger.Inactivity
	env := &rules.Env{DaysSinceLastPurchase: 100, AvgDaysBetweenPurchases: 40}
	if !in.Matches(env) {
		t.Error("100 days, usual gap 40: inactive")
	}
	env.AvgDaysBetweenPurchases = 60 // 100 < 2 x 60
	if in.Matches(env) {
		t.Error("100 days, usual gap 60: not yet inactive")
	}
	if in.Matches(&rules.Env{DaysSinceLastPurchase: -1}) {
		t.Error("a customer who never bought is not inactive")
	}
	if w.Occurrence != (Occurrence{Kind: OncePerDays, Days: 180}) || len(w.ExitOn) != 1 || len(w.Variants) != 2 {
		t.Errorf("win-back parsed wrong: %+v", w)
	}
	if w.ChooseVariant(0.2) != "discount" || w.ChooseVariant(0.7) != "personal" {
		t.Error("ChooseVariant does not split by weight")
	}
	ch := byID["churn-alert"]
	if ch.Recipient.IsCustomer() || ch.Recipient.Team.Email != "accounts@shop.example" || ch.Frequency.Capped() {
		t.Errorf("churn-alert recipient/frequency wrong: %+v", ch)
	}
	ok, err := ch.Audience.Eval(&rules.Env{CLV: 300, PAlive: 0.2, Lifecycle: "declining"})
	if err != nil || !ok {
		t.Errorf("churn audience on a declining valuable customer = %v, %v", ok, err)
	}
	p := byID["purchase-thank-you"]
	if p.Trigger.Event.Delay != 2*time.Hour || p.Occurrence.Key(time.Now(), nil, "order-1") != "ever" || p.Frequency.Class != ClassTransactional {
		t.Errorf("purchase-thank-you parsed wrong: %+v", p)
	}
	n := byID["weekly-newsletter"].Trigger.Schedule
	sat := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	if next := n.Next(sat); next.Weekday() != time.Monday || next.Hour() != 10 || next.Location().String() != "Europe/Paris" {
		t.Errorf("newsletter next = %v", next)
	}
}

// TestRenderConcurrent renders from many goroutines and locales at once (run
// with -race): templates are shared, cloned once per formatting locale.
func TestRenderConcurrent(t *testing.T) {
	c := parseMini(t, miniMessages)
	locales := []string{"en", "en-GB", "fr", "fr-CA", "de", "nl", "es", "it"}
	errs := make(chan error, 64)
	for i := range 64 {
		go func() {
			loc := locales[i%len(locales)]
			r, err := Render(c, "email", loc, "", c.Data(sampleEnv(loc), "", ""))
			if err == nil && r.Subject == "" {
				err = fmt.Errorf("%s: empty subject", loc)
			}
			errs <- err
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
