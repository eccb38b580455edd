package campaigns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenCase is an example file with one edit and the exact problem it must
// produce (file:line:col: message prefix).
type brokenCase struct {
	name, file, old, new string
	want                 string
}

var brokenCases = []brokenCase{
	{"misspelled top key", "birthday-greeting.yaml", "audience: |", "audiance: |",
		`7:1: unknown key "audiance" in the campaign; did you mean "audience"? (valid keys: id, name,`},
	{"misspelled nested key", "win-back-90d.yaml", "gap_multiplier: 2", "gap_multiplyer: 2",
		`7:26: unknown key "gap_multiplyer" in trigger.inactivity; did you mean "gap_multiplier"? (valid keys: days, gap_multiplier, at)`},
	{"rule typo in block literal", "birthday-greeting.yaml", "email_consent || sms_consent", "email_consent || totl_spent > 100",
		`8:20: audience: unknown name "totl_spent"; did you mean "total_spent"?`},
	{"rule typo in plain scalar", "purchase-thank-you.yaml", "event.amount > 100", "totl_spent > 100",
		`7:32: audience: unknown name "totl_spent"; did you mean "total_spent"?`},
	{"rule typo in double-quoted scalar", "purchase-thank-you.yaml", "audience: event.first_order && event.amount > 100",
		`audience: "event.first_order && totl_spent > 100"`,
		`7:33: audience: unknown name "totl_spent"; did you mean "total_spent"?`},
	{"rule typo in single-quoted scalar", "purchase-thank-you.yaml", "audience: event.first_order && event.amount > 100",
		`audience: 'event.first_order && totl_spent > 100'`,
		`7:33: audience: unknown name "totl_spent"; did you mean "total_spent"?`},
	{"rule typo on folded second line", "win-back-90d.yaml", `lifecycle in ["growing"`, `lifecyle in ["growing"`,
		`10:3: audience: unknown name "lifecyle"; did you mean "lifecycle"?`},
	{"rule typo on literal third line", "churn-alert.yaml", `lifecycle in ["declining"])`, `lifecycle in ["declining"] && orders_cnt > 2)`,
		`12:66: audience: unknown name "orders_cnt"; did you mean "orders_count" or "orders_90d"?`},
	{"churn rule typo in plain scalar", "churn-alert.yaml", "rule: value_churn || p_alive < 0.5", "rule: value_churn || p_alive < 0.5 || pp_alive < 1",
		`8:43: trigger.churn_risk.rule: unknown name "pp_alive"; did you mean "p_alive"?`},
	{"lifecycle typo in folded list", "win-back-90d.yaml", `lifecycle in ["growing"`, `lifecycle in ["grwing"`,
		`10:17: audience: unknown lifecycle stage "grwing"; did you mean "growing"?`},
	{"segment typo in churn rule", "churn-alert.yaml", "rule: value_churn || p_alive < 0.5", `rule: value_churn || p_alive < 0.5 && rfm.segment == "champion"`,
		`8:58: trigger.churn_risk.rule: unknown RFM segment "champion"; did you mean "champions"?`},
	{"time zone typo in literal block", "weekly-newsletter.yaml", "email_consent && days_since", `email_consent && time_zone == "Europe/Pari" && days_since`,
		`9:33: audience: unknown time zone "Europe/Pari"; did you mean "Europe/Paris"?`},
	{"unknown locale in plain scalar", "purchase-thank-you.yaml", "event.amount > 100", `locale != "xx"`,
		`7:42: audience: unknown locale "xx": the subtag "xx" is not a known language, script or region; write a tag such as "en", "fr-CA" or "pt-BR"`},
	{"non-boolean rule", "weekly-newsletter.yaml", "audience: |\n  email_consent && days_since_last_purchase >= 0 && days_since_last_purchase <= 365",
		"audience: |\n  total_spent * 2",
		`9:3: audience: the rule must be true or false`},
	{"unknown template field in literal", "birthday-greeting.yaml", "{{ .offer.code }}, valid", "{{ .frist_name }}, valid",
		`26:31: messages.email.text: unknown field "frist_name"; did you mean "first_name"?`},
	{"unknown template field after escaped quotes", "birthday-greeting.yaml", `{{ default \"friend\" .first_name }}!`, `{{ default \"friend\" .frist_name }}!`,
		`21:54: messages.email.subject: unknown field "frist_name"; did you mean "first_name"?`},
	{"unknown nested field", "churn-alert.yaml", "{{ .rfm.segment }}", "{{ .rfm.segmnt }}",
		`31:33: messages.email.text: unknown field "segmnt" in .rfm; did you mean "segment"? (rfm has: f, m, r, score, segment)`},
	{"unknown offer key", "win-back-90d.yaml", "with the code {{ .offer.code }}.", "with the code {{ .offer.cod }}.",
		`27:71: messages.email.text: unknown field "cod" in .offer; did you mean "code"? (offer has: code, discount)`},
	{"unknown field inside range", "purchase-thank-you.yaml", "x {{ .name }}\n", "x {{ .nam }}\n",
		`19:33: messages.email.text: unknown field "nam" in .items; did you mean "name"?`},
	{"unknown field in fr locale", "win-back-90d.yaml", "de {{ .days_since_last_purchase }} jours", "de {{ .days_since_purchase }} jours",
		`42:47: messages.email.locales.fr.text: unknown field "days_since_purchase"; did you mean "days_since_last_purchase"?`},
	{"unknown field in variant", "win-back-90d.yaml", `{{ default \"Hello\" .first_name }}`, `{{ default \"Hello\" .firstname }}`,
		`59:41: variants.personal.messages.email.subject: unknown field "firstname"; did you mean "first_name"?`},
	{"template function not allowed", "weekly-newsletter.yaml", `{{ if eq .rfm.segment "champions" }} As one of our best
      customers, you get early access.{{ end }}</p>`, `{{ if eq .rfm.segment "champions" }} As one of our best
      customers, you get early access.{{ end }}</p>{{ env "HOME" }}`,
		`28:55: messages.email.html: template: function "env" not defined`},
	{"range over a billion", "birthday-greeting.yaml", "Happy birthday from all of us!", "Happy {{ range 1000000000 }}x{{ end }}",
		`25:22: messages.email.text: template loops run about 1,000,000,000 times per message, more than the 10,000 allowed; loop fewer times and avoid nesting ranges (a list counts as 50 items here)`},
	{"range over a variable holding a large number", "birthday-greeting.yaml", "Happy birthday from all of us!", "{{ $n := 20000 }}{{ range $i := $n }}x{{ end }}",
		`25:39: messages.email.text: template loops run about 20,000 times per message`},
	{"ranges nested three deep", "purchase-thank-you.yaml", "<ul>{{ range .event.items }}<li>", "<ul>{{ range .event.items }}{{ range $.tags }}{{ range $.tags }}{{ end }}{{ end }}<li>",
		`26:62: messages.email.html: template loops run about 127,550 times per message`},
	{"sub-template call", "birthday-greeting.yaml", "Happy birthday from all of us!", `{{ define "x" }}x{{ end }}{{ template "x" }}`,
		`25:45: messages.email.text: {{ template "x" }} is not available in messages; write the text in place`},
	{"bad cron", "weekly-newsletter.yaml", `cron: "0 10 * * MON"`, `cron: "0 25 * * MON"`,
		`7:20: trigger.schedule.cron: invalid cron expression "0 25 * * MON": end of range (25) above maximum (23)`},
	{"bad time zone", "weekly-newsletter.yaml", `"Europe/Paris"`, `"Europe/Pariss"`,
		`7:47: trigger.schedule.time_zone: unknown time zone "Europe/Pariss"`},
	{"bad duration", "purchase-thank-you.yaml", "delay: 2h", "delay: 2hours",
		`6:34: trigger.event.delay: invalid duration "2hours"; write a number and a unit such as 30m, 2h or 7d`},
	{"bad attribution window", "win-back-90d.yaml", "attribution_window: 14d", "attribution_window: fortnight",
		`19:21: attribution_window: invalid duration "fortnight"`},
	{"holdout of 150%", "birthday-greeting.yaml", "holdout: 10%", "holdout: 150%",
		`14:10: holdout 150% is out of range: it must be at least 0% and below 100%`},
	{"holdout not a share", "birthday-greeting.yaml", "holdout: 10%", "holdout: ten",
		`14:10: holdout must be a share such as "10%" or 0.1, not "ten"`},
	{"two triggers", "birthday-greeting.yaml", "  birthday: {at: \"09:00\"}", "  birthday: {at: \"09:00\"}\n  event: {type: purchase}",
		`7:3: trigger has both birthday and event; a campaign has exactly one trigger`},
	{"bad clock", "birthday-greeting.yaml", `{at: "09:00"}`, `{at: "9am"}`,
		`6:18: trigger.birthday.at: invalid time of day "9am"; write HH:MM, e.g. 09:00`},
	{"unknown channel", "churn-alert.yaml", "channels: [email]", "channels: [email, fax]",
		`13:19: channel must be one of email, sms, webhook, not "fax"`},
	{"missing sms message", "win-back-90d.yaml", "channels: [email]", "channels: [email, sms]",
		`21:3: messages.sms is missing: channel sms is listed in channels`},
	{"bad occurrence", "win-back-90d.yaml", "once per 180 days", "twice a year",
		`17:13: occurrence: unknown occurrence "twice a year"`},
	{"zero variant weight", "win-back-90d.yaml", "weight: 1\n  - id: personal", "weight: 0\n  - id: personal",
		`54:13: variant weight must be above 0, not 0`},
	{"variant named like a report row", "win-back-90d.yaml", "- id: personal", "- id: holdout",
		`55:9: variant id "holdout" is reserved for the campaign report; choose another name`},
	{"bad frequency class", "churn-alert.yaml", "class: alert", "class: alrt",
		`16:20: frequency.class must be one of promotional, transactional, alert, not "alrt"; did you mean "alert"?`},
	{"team without email", "churn-alert.yaml", "team: {email: accounts@shop.example}", "team: {sms: \"+33612345678\"}",
		`15:9: recipient.team has no email address but channels lists email`},
	{"bad id", "weekly-newsletter.yaml", "id: weekly-newsletter", "id: Weekly Newsletter",
		`2:5: id "Weekly Newsletter" must be a slug`},
	{"yaml syntax error", "weekly-newsletter.yaml", "name: Weekly newsletter", "name: [Weekly newsletter",
		`3: invalid YAML: did not find expected`},
}

func TestBrokenCopiesReportExactPositions(t *testing.T) {
	for _, tc := range brokenCases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(examplesDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("example %s no longer contains %q", tc.file, tc.old)
			}
			broken := strings.Replace(string(data), tc.old, tc.new, 1)
			c, problems := Parse(tc.file, []byte(broken))
			if c != nil {
				t.Errorf("Parse returned a campaign despite errors")
			}
			want := tc.file + ":" + tc.want
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
				if strings.HasPrefix(p.String(), want) {
					return
				}
			}
			t.Errorf("no problem starts with\n  %s\ngot:\n  %s", want, strings.Join(got, "\n  "))
		})
	}
}

func TestAllProblemsOfAFileAreReported(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(examplesDir, "birthday-greeting.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range [][2]string{{"holdout: 10%", "holdout: 150%"}, {"audience: |", "audiance: |"},
		{"{{ .offer.code }}, valid", "{{ .frist_name }}, valid"}, {"attribution_window: 14d", "attribution_window: 2w"}} {
		s = strings.Replace(s, r[0], r[1], 1)
	}
	_, problems := Parse("b.yaml", []byte(s))
	var lines []string
	for _, p := range problems {
		lines = append(lines, p.String()[:strings.Index(p.String(), ": ")])
	}
	want := []string{"b.yaml:7:1", "b.yaml:14:10", "b.yaml:17:21", "b.yaml:26:31"}
	if strings.Join(lines, " ") != strings.Join(want, " ") {
		t.Errorf("positions = %v, want %v (all problems, sorted)", lines, want)
	}
}

// TestDuplicateIDsRejectBothFilesAndNameEachOther: two files with one id are
// both reported, each naming the other, and neither is loaded (which one is
// meant is not for the sort order of their names to decide).
func TestDuplicateIDsRejectBothFilesAndNameEachOther(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(examplesDir, "weekly-newsletter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yml")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a campaign"), 0o644); err != nil {
		t.Fatal(err)
	}
	list, problems := LoadDir(dir)
	if len(list) != 0 {
		t.Fatalf("loaded %d campaigns, want none while two files share an id", len(list))
	}
	const msg = `:2:5: duplicate campaign id "weekly-newsletter": also used by `
	want := []string{a + msg + b, b + msg + a}
	if len(problems) != 2 {
		t.Fatalf("problems = %v, want one per file", problems)
	}
	for i, p := range problems {
		if !strings.HasPrefix(p.String(), want[i]) || p.Severity != SeverityError {
			t.Errorf("problem %d = %s, want an error starting %s", i, p, want[i])
		}
	}
	// Load accepts files and folders alike, checks ids across them, and
	// loads a file named twice once (it does not duplicate itself).
	_, problems = Load(a, dir)
	if len(problems) != 2 {
		t.Errorf("Load(file, dir) problems = %v, want each file once", problems)
	}
	list, problems = Load(a, a)
	if len(list) != 1 || len(problems) != 0 {
		t.Errorf("Load(a, a) = %d campaigns, %v; want the file once", len(list), problems)
	}
}

func TestYAMLSyntaxErrorLines(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"id: x\nname: [a\ntrigger: {}\n", "f.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		{"id: x\nname: a\n  trigger: b\n", "f.yaml:3: invalid YAML: mapping values are not allowed in this context"},
		{"id: x\nname: \"a\n", "f.yaml:2: invalid YAML: found unexpected end of stream"},
		{"", "f.yaml:1:1: empty campaign file"},
		{"id: a\n---\nid: b\n", "f.yaml:3:1: a campaign file holds one campaign; put the next one in its own file"},
		{"- id: a\n", "f.yaml:1:1: the campaign must be a mapping (key: value lines), not a list"},
	} {
		c, problems := Parse("f.yaml", []byte(tc.src))
		found := false
		for _, p := range problems {
			found = found || p.String() == tc.want
		}
		if c != nil || !found {
			t.Errorf("Parse(%q) = %v, want %q", tc.src, problems, tc.want)
		}
	}
}

func TestRuleSegmentsComeFromTheConfiguredSegmentMap(t *testing.T) {
	src := strings.Replace(mini, `audience: "true"`, `audience: rfm.segment == "vip"`, 1) + miniMessages
	if _, problems := Parse("m.yaml", []byte(src)); !HasErrors(problems) ||
		!strings.HasPrefix(problems[0].String(), `m.yaml:5:26: audience: unknown RFM segment "vip"; use one of: champions, loyal,`) {
		t.Errorf("default map: problems = %v, want vip unknown", problems)
	}
	custom := Settings{Segments: []string{"vip", "others"}}
	if c, problems := custom.Parse("m.yaml", []byte(src)); c == nil {
		t.Errorf("custom map: problems = %v, want vip accepted", problems)
	}
}
