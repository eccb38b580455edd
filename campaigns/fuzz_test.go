package campaigns

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and a
// campaign comes back exactly when there is no error.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	more, _ := filepath.Glob("testdata/validate/*.y*ml")
	for _, file := range append(files, more...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("audience: |\n  \"\\u00e9\" == first_name\n"))
	f.Add([]byte("messages: {email: {subject: \"{{ .a.b.c }}\", html: \"<a href='{{'>\"}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, problems := Parse("fuzz.yaml", data)
		if (c == nil) != HasErrors(problems) {
			t.Fatalf("campaign %v with problems %v", c != nil, problems)
		}
		for _, p := range problems {
			if p.Line < 0 || p.Col < 0 || p.Message == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

// FuzzRender feeds arbitrary templates, customer names, locales and amounts
// to Parse and Render: a template either fails at load with a problem or
// renders without panicking, and a customer's name never reaches the HTML
// body unescaped.
func FuzzRender(f *testing.F) {
	f.Add("Hi {{ default \"friend\" .first_name }}", "Ada", "fr-CA", 149.9, "EUR")
	f.Add("{{ money .event.amount .event.currency }} {{ date .now }}", "<script>alert(1)</script>", "de-DE", -0.5, "JPY")
	f.Add("{{ range .event.items }}{{ .name }}{{ end }}", "O'Brien & \"Sons\"", "", 1e308, "XXX")
	f.Add("{{ title .first_name }} {{ .nope.deeper }}", "élodie", "zz-ZZ", 0.0, "")
	f.Add("{{ template \"x\" }}", "a", "en", 1.0, "USD")
	f.Add("{{ range 1000000000 }}x{{ end }}", "a", "en", 1.0, "USD")
	f.Add("{{ range .tags }}{{ range $.tags }}{{ printf \"%0999999d\" 1 }}{{ end }}{{ end }}", "a", "en", 1.0, "USD")
	f.Fuzz(func(t *testing.T, tmpl, name, locale string, amount float64, currency string) {
		src := fmt.Sprintf("id: fuzz\nname: Fuzz\ntrigger: {event: {type: purchase}}\naudience: \"true\"\n"+
			"channels: [email]\nmessages:\n  email:\n    subject: %s\n    text: %s\n    html: %s\n",
			strconv.Quote(tmpl), strconv.Quote(tmpl), strconv.Quote("<p>"+tmpl+"</p><p id=\"n\">{{ .first_name }}</p>"))
		c, problems := Parse("fuzz.yaml", []byte(src))
		if c == nil {
			if !HasErrors(problems) {
				t.Fatalf("no campaign and no error for template %q", tmpl)
			}
			return
		}
		env := sampleEnv(locale)
		env.FirstName, env.Event.Amount, env.Event.Currency = name, amount, currency
		r, err := Render(c, "email", locale, "", c.Data(env, "", "https://shop.example/u/x"))
		if err != nil {
			return // an execution error is reported, not a panic
		}
		// Whatever context the template left open, the name is escaped for it:
		// after the last marker the only tag is the closing </p>.
		if i := strings.LastIndex(r.HTML, `<p id="n">`); i < 0 || strings.Count(r.HTML[i+len(`<p id="n">`):], "<") != 1 {
			t.Fatalf("name %q reached the HTML unescaped:\n%s", name, r.HTML)
		}
		if strings.Contains(r.Subject, "\n") {
			t.Fatalf("subject spans lines: %q", r.Subject)
		}
	})
}
