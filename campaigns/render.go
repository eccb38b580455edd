package campaigns

import (
	"fmt"
	"maps"
	"strings"
)

// Rendered is one message ready for a channel. SMS uses Text only; a
// webhook, URL and Text.
type Rendered struct {
	Subject  string
	Text     string
	HTML     string
	FromName string
	// URL is where a webhook message is posted, on the host its template
	// writes out (checked again here, after rendering).
	URL string
}

// Render executes the campaign's templates for one customer: channel
// ("email", "sms"), the customer's locale ("fr-CA" falls back to "fr", then
// the default messages), the variant id ("" for none) and data (from
// TemplateData or Campaign.Data; .offer, .campaign and .variant are added
// when absent). Execution errors are returned, never panics; a render that
// goes over its budget (MaxTemplateOutput, MaxTemplateSteps,
// MaxTemplateTime) fails with an error wrapping ErrTemplateBudget.
func Render(c *Campaign, ch Channel, locale, variant string, data map[string]any) (r Rendered, err error) {
	if err := validChannel(ch); err != nil {
		return r, fmt.Errorf("render %s: %w", c.ID, err)
	}
	if variant != "" && !c.hasVariant(variant) {
		return r, fmt.Errorf("render %s: unknown variant %q", c.ID, variant)
	}
	if c.messages == nil || (c.messages.channels[ch] == nil && c.messages.variants[variant][ch] == nil) {
		return r, fmt.Errorf("render %s: no %s messages", c.ID, ch)
	}
	// A copy, so the caller's map is never written (it may be shared), with
	// this render's budget for the template's loops.
	full := maps.Clone(data)
	if full == nil {
		full = map[string]any{}
	}
	if _, ok := data["campaign"]; !ok {
		c.addCampaignData(full, variant)
	}
	b := newBudget()
	full[budgetKey] = b
	data = full
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("render %s %s: %v", c.ID, ch, p)
		}
	}()
	targets := map[string]*string{fieldSubject: &r.Subject, fieldText: &r.Text, fieldHTML: &r.HTML, fieldFromName: &r.FromName,
		fieldURL: &r.URL}
	for _, field := range channelKeys[ch] {
		t := c.messages.lookup(ch, variant, locale, field)
		if t == nil {
			continue
		}
		out, err := t.execute(locale, data, b)
		if err != nil {
			return Rendered{}, fmt.Errorf("render %s %s.%s: %w", c.ID, ch, field, err)
		}
		if field == fieldURL {
			if err := checkOrigin(out, t.origin); err != nil {
				return Rendered{}, fmt.Errorf("render %s %s.%s: %w", c.ID, ch, field, err)
			}
			out = strings.TrimSpace(out)
		}
		*targets[field] = out
	}
	if ch == Email {
		r.Subject = strings.Join(strings.Fields(r.Subject), " ") // a header is one line
	}
	return r, nil
}

func (c *Campaign) hasVariant(id string) bool {
	for _, v := range c.Variants {
		if v.ID == id {
			return true
		}
	}
	return false
}

// execute renders the template into at most MaxTemplateOutput bytes,
// spending b's steps and time.
func (m *msgTemplate) execute(locale string, data map[string]any, b *budget) (string, error) {
	e, err := m.forLocale(locale)
	if err != nil {
		return "", err
	}
	w := &limitedWriter{b: b}
	if err := e.Execute(w, data); err != nil {
		if b.err != nil {
			return "", b.err // not text/template's wrapping of it
		}
		return "", err
	}
	return w.String(), nil
}
