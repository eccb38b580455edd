package campaigns

import (
	"testing"
)

const examplesDir = "../examples/campaigns"

func TestExamplesLoadClean(t *testing.T) {
	list, problems := LoadDir(examplesDir)
	for _, p := range problems {
		t.Errorf("unexpected problem: %s", p)
	}
	want := map[string]TriggerKind{
		"birthday-greeting":        TriggerBirthday,
		"churn-alert":              TriggerChurnRisk,
		"purchase-thank-you":       TriggerEvent,
		"weekly-newsletter":        TriggerSchedule,
		"win-back-90d":             TriggerInactivity,
		"win-back-sequence":        TriggerInactivity,
		"churn-escalation":         TriggerChurnRisk,
		"birthday-reminder":        TriggerBirthday,
		"welcome-series":           TriggerEvent,
		"post-purchase-cross-sell": TriggerEvent,
		"nps-survey":               TriggerEvent,
		"detractor-alert":          TriggerEvent,
		"complaint-follow-up":      TriggerEvent,
		"cart-abandonment":         TriggerEvent,
		"tier-upgrade":             TriggerEvent,
		"replenishment":            TriggerSchedule,
	}
	journeys := map[string]bool{"win-back-sequence": true, "churn-escalation": true, "birthday-reminder": true,
		"welcome-series": true, "post-purchase-cross-sell": true, "complaint-follow-up": true, "cart-abandonment": true}
	got := map[string]TriggerKind{}
	for _, c := range list {
		got[c.ID] = c.Trigger.Kind
		if c.Audience == nil {
			t.Errorf("%s: audience not compiled", c.ID)
		}
		if (c.Journey != nil) != journeys[c.ID] {
			t.Errorf("%s: journey %v", c.ID, c.Journey != nil)
		}
	}
	for id, kind := range want {
		if got[id] != kind {
			t.Errorf("%s: trigger %q, want %q", id, got[id], kind)
		}
	}
}
