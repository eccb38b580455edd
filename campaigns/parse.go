package campaigns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tidings-crm/tidings/rules"
)

// topKeys are the keys of a campaign file, in documentation order.
var topKeys = []string{"id", "name", "description", "status", "trigger", "audience", "channels", "recipient",
	"messages", "offer", "survey", "holdout", "topic", "variants", "frequency", "occurrence", "exit_on", "attribution_window", "resend_unknown", "late",
	"tracking", "steps"}

// DefaultAttributionWindow is used when a campaign sets no attribution_window.
const DefaultAttributionWindow = 7 * 24 * time.Hour

// Parse reads one campaign file and returns the compiled campaign and every
// problem found (not only the first). The campaign is nil when any problem
// is an error; warnings alone leave it usable.
func Parse(filename string, data []byte) (*Campaign, []Problem) {
	return Settings{}.Parse(filename, data)
}

// Parse is the package Parse with these settings.
func (s Settings) Parse(filename string, data []byte) (*Campaign, []Problem) {
	p := &parser{file: filename, lines: splitLines(data), settings: s}
	c := p.parse(data)
	if c != nil {
		c.readsTopics = p.readsTopics
	}
	sortProblems(p.problems)
	if HasErrors(p.problems) {
		return nil, p.problems
	}
	return c, p.problems
}

var yamlErrRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document decodes the single YAML document of a campaign file into a node
// tree.
func (p *parser) document(data []byte) *yaml.Node {
	return p.documentOf(data, "empty campaign file", "a campaign file holds one campaign; put the next one in its own file")
}

// documentOf decodes the single YAML document of a file, reporting an empty
// file and a second document with the given messages.
func (p *parser) documentOf(data []byte, empty, second string) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(SeverityError, 1, 1, "%s", empty)
			return nil
		}
		p.yamlError(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		p.add(SeverityError, at.Line, at.Column, "%s", second)
	}
	if len(doc.Content) == 0 {
		p.add(SeverityError, 1, 1, "%s", empty)
		return nil
	}
	return doc.Content[0]
}

func (p *parser) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if !isScannerError(msg) {
			line++ // yaml.v3 reports parser errors with a 0-based line
		}
	}
	p.add(SeverityError, line, 0, "invalid YAML: %s", msg)
}

// scannerErrors are the yaml.v3 scanner messages, whose lines are 1-based.
var scannerErrors = []string{"block sequence entries are not allowed", "could not find expected",
	"did not find expected alphabetic", "did not find expected comment", "did not find expected digit",
	"did not find expected hexdecimal", "did not find expected version", "did not find expected whitespace",
	"did not find the expected '>'", "exceeded max depth", "found a tab character",
	"found an indentation indicator", "found character that cannot start", "found extremely long",
	"found invalid Unicode", "found unexpected document", "found unexpected end of stream",
	"found unexpected non-alphabetical", "found unknown", "mapping keys are not allowed",
	"mapping values are not allowed"}

func isScannerError(msg string) bool {
	for _, s := range scannerErrors {
		if strings.HasPrefix(msg, s) {
			return true
		}
	}
	return false
}

func (p *parser) parse(data []byte) *Campaign {
	root := p.document(data)
	if root == nil {
		return nil
	}
	f, ok := p.mapping(root, "the campaign", topKeys)
	if !ok {
		return nil
	}
	p.root = root
	c := &Campaign{File: p.file, Status: StatusActive, AttributionWindow: DefaultAttributionWindow,
		Frequency: Frequency{Class: ClassPromotional}}
	steps := f.get("steps")
	required := []string{"id", "name", "trigger", "audience", "channels", "messages"}
	if steps != nil {
		required = required[:4] // a journey's channels and messages are in its send steps
	}
	for _, k := range required {
		if f.get(k) == nil && !p.suggested[k] {
			p.errorf(root, "missing required key %q%s", k, requiredHint[k])
		}
	}
	p.identity(f, c)
	p.trigger(f.get("trigger"), c)
	if n := f.get("audience"); n != nil {
		c.Audience = p.rule(n, "audience")
	}
	if steps == nil {
		p.channels(f.get("channels"), c)
		p.recipient(f.get("recipient"), c)
		p.webhookNeedsTeam(f.get("channels"), c)
		p.offer(f.get("offer"), c)
		p.survey(f.get("survey"), c)
	}
	p.holdout(f.get("holdout"), c)
	p.topic(f.get("topic"), c)
	p.frequency(f.get("frequency"), c)
	p.occurrence(f.get("occurrence"), c)
	exits := p.exitOn(f.get("exit_on"), c, steps != nil)
	if n := f.get("attribution_window"); n != nil {
		c.AttributionWindow = p.duration(n, "attribution_window")
	}
	if n := f.get("resend_unknown"); n != nil {
		c.ResendUnknown, _ = p.boolean(n, "resend_unknown")
	}
	p.late(f.get("late"), c)
	if c.Trigger.Kind == TriggerAPI && (steps != nil || c.Frequency.Class != ClassTransactional) {
		p.errorf(f.get("trigger"), "trigger api sends one message per request of POST /v1/send: "+
			"the campaign needs frequency: {class: transactional} and messages, not steps")
	}
	p.tracking(f.get("tracking"), c)
	if steps != nil {
		p.journey(f, c, exits)
		return c
	}
	p.quietHours(c)
	p.campaignMessages(f, c, false)
	p.checkTracking(f.get("tracking"), c)
	return c
}

var requiredHint = map[string]string{
	"audience": ` (a rule; write audience: "true" for everyone)`,
	"trigger":  " (one of schedule, birthday, inactivity, churn_risk, event, api)",
	"channels": " (e.g. channels: [email, sms])",
	"messages": " (the messages per channel; a journey has steps: instead)",
}

func (p *parser) identity(f fields, c *Campaign) {
	if n := f.get("id"); n != nil {
		if s, ok := p.str(n, "id"); ok {
			if isSlug(s) {
				c.ID, c.idPos = s, pos{n.Line, n.Column}
			} else {
				p.errorf(n, "id %q must be a slug: lower-case letters, digits, '-' or '_' (e.g. birthday-greeting)", s)
			}
		}
	}
	if n := f.get("name"); n != nil {
		c.Name, _ = p.str(n, "name")
	}
	if n := f.get("description"); n != nil {
		c.Description, _ = p.str(n, "description")
	}
	if n := f.get("status"); n != nil {
		s, _ := p.oneOf(n, "status", string(StatusActive), string(StatusPaused))
		if s != "" {
			c.Status = Status(s)
		}
	}
}

// rule compiles an audience-style rule, mapping the rule's own line and
// column to the file.
func (p *parser) rule(n *yaml.Node, what string) *rules.Program {
	return p.ruleWith(n, what, rules.Options{})
}

// ruleWith is rule with options (a journey's rules); the deployment's
// segments are added.
func (p *parser) ruleWith(n *yaml.Node, what string, opt rules.Options) *rules.Program {
	src, ok := p.str(n, what)
	if !ok {
		return nil
	}
	if strings.TrimSpace(src) == "" {
		p.errorf(n, `%s is empty; write "true" to select everyone`, what)
		return nil
	}
	opt.Segments = p.settings.Segments
	opt.Topics = TopicIDs(p.settings.Topics)
	prg, err := rules.CompileWith(src, opt)
	if err == nil {
		p.readsTopics = p.readsTopics || prg.ReadsTopics()
		return prg
	}
	var re *rules.Error
	if !errors.As(err, &re) {
		p.errorf(n, "%s: %v", what, err)
		return nil
	}
	at := p.textPos(n, re.Line, re.Column)
	p.add(SeverityError, at.line, at.col, "%s: %s", what, ruleMessage(re))
	return nil
}

var unknownNameRE = regexp.MustCompile(`unknown name ([A-Za-z_][A-Za-z0-9_]*)`)

// ruleMessage adds close matches to a rule error when the rules package did
// not already name them.
func ruleMessage(re *rules.Error) string {
	msg := re.Message
	if strings.Contains(msg, "did you mean") {
		return msg
	}
	if len(re.Suggestions) > 0 {
		return fmt.Sprintf("%s; did you mean %s?", msg, quoteList(re.Suggestions))
	}
	if m := unknownNameRE.FindStringSubmatch(msg); m != nil {
		return msg + didYouMean(m[1], rootSchema(nil).names())
	}
	return msg
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, " or ")
}

// positive reads a number that must be above 0 (a weight, a multiplier).
func (p *parser) positive(n *yaml.Node, what string) (float64, bool) {
	x, ok := p.number(n, what)
	if ok && x <= 0 {
		p.errorf(n, "%s must be above 0, not %v", what, x)
	}
	return x, ok
}

func (p *parser) duration(n *yaml.Node, what string) time.Duration {
	s, ok := p.str(n, what)
	if !ok {
		return 0
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.errorf(n, "%s: invalid duration %q; write a number and a unit such as 30m, 2h or 7d", what, s)
		return 0
	}
	return d
}

func (p *parser) channels(n *yaml.Node, c *Campaign) {
	items := p.list(n, "channels")
	for _, item := range items {
		s, ok := p.oneOf(item, "channel", string(Email), string(SMS), string(Webhook))
		if !ok {
			continue
		}
		if slices.Contains(c.Channels, Channel(s)) {
			p.errorf(item, "channel %s is listed twice", s)
			continue
		}
		c.Channels = append(c.Channels, Channel(s))
	}
	if n != nil && len(items) == 0 && resolve(n).Kind == yaml.SequenceNode {
		p.errorf(n, "channels must list at least one of email, sms, webhook")
	}
}
