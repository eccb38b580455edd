package campaigns

import (
	"fmt"
	"testing"
	"time"
)

func TestTemplateDataUsesRuleNames(t *testing.T) {
	env := sampleEnv("fr")
	data := TemplateData(env)
	if data["first_name"] != "Ada" || data["total_spent"] != 1234.5 || data["birthday"] != env.Birthday {
		t.Errorf("top-level names wrong: %v", data)
	}
	if rfm := data["rfm"].(map[string]any); rfm["segment"] != "at_risk" {
		t.Errorf("rfm.segment = %v", rfm["segment"])
	}
	items := data["event"].(map[string]any)["items"].([]map[string]any)
	if len(items) != 2 || items[1]["name"] != "Blue Train" {
		t.Errorf("event.items = %v", items)
	}
	for _, fn := range []string{"days_since", "age", "has_tag"} {
		if _, ok := data[fn]; ok {
			t.Errorf("function %s leaked into template data", fn)
		}
	}
	// Every name the static check accepts exists in the data.
	for _, name := range rootSchema(nil).names() {
		if _, ok := data[name]; !ok && name != "offer" && name != "campaign" && name != "variant" && name != "unsubscribe_url" && name != "preferences_url" {
			t.Errorf("schema name %q missing from data", name)
		}
	}
}

func ExampleRender() {
	c, problems := Parse("hello.yaml", []byte(`id: hello
name: Hello
trigger: {event: {type: purchase, delay: 1h}}
audience: event.amount > 50
channels: [sms]
offer: {code: THANKS10}
messages:
  sms:
    text: "Thanks {{ default \"friend\" .first_name }}! {{ money .event.amount .event.currency }} received. Code {{ .offer.code }}"
    locales:
      fr: {text: "Merci {{ default \"\" .first_name }} ! {{ money .event.amount .event.currency }} reçus. Code {{ .offer.code }}"}
`))
	if c == nil {
		fmt.Println(problems)
		return
	}
	env := sampleEnv("fr-BE")
	env.Event.Amount, env.Event.OccurredAt = 1250, time.Now()
	for _, locale := range []string{"en-US", "fr-BE"} {
		r, err := Render(c, "sms", locale, "", c.Data(env, "", ""))
		fmt.Println(r.Text, err)
	}
	// Output:
	// Thanks Ada! €1,250.00 received. Code THANKS10 <nil>
	// Merci Ada ! 1 250,00 € reçus. Code THANKS10 <nil>
}
