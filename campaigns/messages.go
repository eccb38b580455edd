package campaigns

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Message field names, as written under messages.<channel>.
const (
	fieldSubject  = "subject"
	fieldText     = "text"
	fieldHTML     = "html"
	fieldFromName = "from_name"
	fieldURL      = "url"
)

// channelKeys are the keys valid under messages.<channel> (plus "locales").
var channelKeys = map[Channel][]string{
	Email:   {fieldSubject, fieldText, fieldHTML, fieldFromName},
	SMS:     {fieldText},
	Webhook: {fieldURL, fieldText},
}

// messageChannels are the channels a messages mapping may hold, in order.
var messageChannels = []Channel{Email, SMS, Webhook}

// msgFields holds compiled templates by field name.
type msgFields map[string]*msgTemplate

// channelMessages is one channel's messages: the default language and the
// per-locale overrides (keys are normalised locales: "fr", "fr-ca").
type channelMessages struct {
	base    msgFields
	locales map[string]msgFields
	written map[string]bool // default-language fields present in the file
}

// messageSet is the campaign's messages plus each variant's overrides.
type messageSet struct {
	channels map[Channel]*channelMessages
	variants map[string]map[Channel]*channelMessages
}

// messages parses a `messages` mapping (the campaign's or a variant's).
func (p *parser) messages(n *yaml.Node, where string, root *schema) map[Channel]*channelMessages {
	f, ok := p.mapping(n, where, []string{string(Email), string(SMS), string(Webhook)})
	if !ok {
		return nil
	}
	out := map[Channel]*channelMessages{}
	for _, ch := range messageChannels {
		v := f.get(string(ch))
		if v == nil {
			continue
		}
		out[ch] = p.channelMessages(v, where+"."+string(ch), ch, root)
	}
	return out
}

func (p *parser) channelMessages(n *yaml.Node, where string, ch Channel, root *schema) *channelMessages {
	keys := append(slices.Clone(channelKeys[ch]), "locales")
	f, ok := p.mapping(n, where, keys)
	cm := &channelMessages{base: msgFields{}, locales: map[string]msgFields{}, written: map[string]bool{}}
	if !ok {
		return cm
	}
	for k := range f.val {
		cm.written[k] = true
	}
	cm.base = p.msgFields(f, where, ch, root)
	if ln := f.get("locales"); ln != nil {
		lf, ok := p.mapping(ln, where+".locales", nil)
		if !ok {
			return cm
		}
		for name, v := range lf.val {
			if _, err := language.Parse(name); err != nil || strings.ContainsAny(name, " ") {
				p.errorf(lf.key[name], "%q is not a locale; use a language code such as fr or fr-CA", name)
				continue
			}
			sub := where + ".locales." + name
			vf, ok := p.mapping(v, sub, channelKeys[ch])
			if ok {
				cm.locales[normLocale(name)] = p.msgFields(vf, sub, ch, root)
				p.checkLocaleComplete(lf.key[name], f, vf, sub, ch)
			}
		}
	}
	return cm
}

func (p *parser) msgFields(f fields, where string, ch Channel, root *schema) msgFields {
	out := msgFields{}
	for _, name := range channelKeys[ch] {
		v := f.get(name)
		if v == nil {
			continue
		}
		what := where + "." + name
		if _, ok := p.str(v, what); !ok {
			continue
		}
		if t := p.compileTemplate(v, name == fieldHTML, root, what); t != nil {
			out[name] = t
			if ch == SMS {
				p.checkSMSLength(v, t, what)
			}
			if name == fieldURL && !p.webhookURL(v, t, what) {
				delete(out, name)
			}
		}
	}
	return out
}

// checkLocaleComplete warns when a campaign's locale block leaves out a body
// field the default has: that customer would get a mixed-language message.
// Variants are partial by design and are not checked.
func (p *parser) checkLocaleComplete(key *yaml.Node, base, loc fields, where string, ch Channel) {
	if strings.HasPrefix(where, "variants.") {
		return
	}
	for _, name := range channelKeys[ch] {
		if name == fieldFromName || base.get(name) == nil || loc.get(name) != nil {
			continue
		}
		p.warnf(key, "%s has no %s: these customers get the default-language %s", where, name, name)
	}
}

// checkSMSLength warns when the fixed text alone exceeds one SMS segment
// (160 GSM-7 characters, 70 when another character forces UCS-2).
func (p *parser) checkSMSLength(n *yaml.Node, t *msgTemplate, what string) {
	text := t.literalText()
	limit := 160
	for _, r := range text {
		if r > 0x7e && !strings.ContainsRune("£¥èéùìòÇØøÅåÆæßÉÄÖÑÜ§¿äöñüà€", r) {
			limit = 70
			break
		}
	}
	if c := utf8.RuneCountInString(text); c > limit {
		p.warnf(n, "%s: %d characters before substitution, more than one SMS segment (%d)", what, c, limit)
	}
}

// requireMessages checks that every listed channel has what it needs.
func (p *parser) requireMessages(n *yaml.Node, set map[Channel]*channelMessages, channels []Channel) {
	for _, ch := range channels {
		cm := set[ch]
		if cm == nil {
			p.errorf(n, "messages.%s is missing: channel %s is listed in channels", ch, ch)
			continue
		}
		switch ch {
		case Email:
			if !cm.written[fieldSubject] {
				p.errorf(n, "messages.email.subject is required")
			}
			if !cm.written[fieldText] && !cm.written[fieldHTML] {
				p.errorf(n, "messages.email.text or messages.email.html is required")
			}
		case SMS:
			if !cm.written[fieldText] {
				p.errorf(n, "messages.sms.text is required")
			}
		case Webhook:
			for _, f := range []string{fieldURL, fieldText} {
				if !cm.written[f] {
					p.errorf(n, "messages.webhook.%s is required", f)
				}
			}
		}
	}
	for ch := range set {
		if !slices.Contains(channels, ch) {
			p.warnf(n, "messages.%s is never sent: %s is not in channels", ch, ch)
		}
	}
}

// lookup returns the template for field by precedence: the variant's locale,
// the campaign's locale, the variant's default, the campaign's default;
// locales fall back from fr-CA to fr.
func (s *messageSet) lookup(ch Channel, variant, locale, field string) *msgTemplate {
	layers := []*channelMessages{}
	if v := s.variants[variant]; v != nil && v[ch] != nil {
		layers = append(layers, v[ch])
	}
	if s.channels[ch] != nil {
		layers = append(layers, s.channels[ch])
	}
	for _, loc := range localeChain(locale) {
		for _, l := range layers {
			if t := l.locales[loc][field]; t != nil {
				return t
			}
		}
	}
	for _, l := range layers {
		if t := l.base[field]; t != nil {
			return t
		}
	}
	return nil
}

// localeChain lists the locale keys to try: "fr-ca" then "fr".
func localeChain(locale string) []string {
	l := normLocale(locale)
	if l == "" {
		return nil
	}
	out := []string{l}
	for i := strings.LastIndexByte(l, '-'); i > 0; i = strings.LastIndexByte(l, '-') {
		l = l[:i]
		out = append(out, l)
	}
	return out
}

// validChannel refuses a channel name no campaign can send through.
func validChannel(c Channel) error {
	if _, ok := channelKeys[c]; ok {
		return nil
	}
	return fmt.Errorf("unknown channel %q", string(c))
}
