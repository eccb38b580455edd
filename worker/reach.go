package worker

import (
	"strings"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
)

// TeamAlert is what Reachable returns for a campaign that alerts the team
// instead of messaging the customer: not a channel, the reach of an alert.
const TeamAlert campaigns.Channel = "team"

// Reachable returns the first channel of the campaign's fallback order that
// the customer has consented to and has an address for (campaigns.Email,
// campaigns.SMS), TeamAlert for internal alerts, or "" when none.
// Suppressions are checked at send time, not here.
func Reachable(c *campaigns.Campaign, env *rules.Env) campaigns.Channel {
	if !c.Recipient.IsCustomer() {
		return TeamAlert
	}
	for _, ch := range c.Channels {
		switch ch {
		case campaigns.Email:
			if env.EmailConsent && env.Email != "" {
				return ch
			}
		case campaigns.SMS:
			if env.SMSConsent && env.Phone != "" {
				return ch
			}
		}
	}
	return ""
}

// MaskEmail hides most of an address for display: "jane@example.com" becomes
// "j***@example.com". Logs never carry addresses at all.
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return mask(s)
	}
	return s[:1] + "***" + s[at:]
}

// MaskPhone keeps the country prefix and the last two digits.
func MaskPhone(s string) string {
	if len(s) < 6 {
		return mask(s)
	}
	return s[:3] + strings.Repeat("*", len(s)-5) + s[len(s)-2:]
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}
