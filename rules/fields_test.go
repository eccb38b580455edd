package rules

import (
	"slices"
	"testing"
)

func TestFields(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want []string
	}{
		{"", nil},
		{"email_consent", []string{"email_consent"}},
		{`days_since(last_purchase_at) > 90 && orders_count >= 2 && rfm.segment in ["at_risk", "lost"] && p_alive > 0.3 && email_consent`,
			[]string{"days_since", "email_consent", "last_purchase_at", "orders_count", "p_alive", "rfm.segment"}},
		{`rfm.r >= 4 && rfm["f"] > 2 && rfm?.segment != "lost"`, []string{"rfm.f", "rfm.r", "rfm.segment"}},
		{`rfm.segment == "lost" || rfm != nil`, []string{"rfm", "rfm.segment"}},
		{`event.amount > 1 && any(event.items, .sku == "X1")`, []string{"event.amount", "event.items"}},
		{`has_tag("vip") || attr("plan") == "gold" || age() >= 18`, []string{"age", "attr", "has_tag"}},
		{`let x = total_spent; any(tags, # == "vip") && x > 10`, []string{"tags", "total_spent"}},
		{`event.amount > 100 && days_until(now) == 0`, []string{"days_until", "event.amount", "now"}},
	} {
		p, err := Compile(tc.rule)
		if err != nil {
			t.Fatalf("%q: %v", tc.rule, err)
		}
		if got := p.Fields(); !slices.Equal(got, tc.want) {
			t.Errorf("Fields(%q) = %v, want %v", tc.rule, got, tc.want)
		}
	}
}

func TestEnvFieldsListsEveryTag(t *testing.T) {
	got := EnvFields()
	for _, name := range []string{"id", "email", "rfm", "p_alive", "days_since", "has_tag", "event", "now"} {
		if !slices.Contains(got, name) {
			t.Errorf("EnvFields() lacks %q: %v", name, got)
		}
	}
}
