package campaigns

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SurveyKind is a satisfaction scale a message may ask on.
type SurveyKind string

// The survey scales.
const (
	// SurveyNPS is the Net Promoter Score question, 0 to 10: promoters
	// answer 9-10, passives 7-8, detractors 0-6.
	SurveyNPS SurveyKind = "nps"
	// SurveyCSAT is customer satisfaction, 1 to 5: satisfied 4-5, neutral
	// 3, dissatisfied (detractors) 1-2.
	SurveyCSAT SurveyKind = "csat"
)

// SurveyKinds lists the scales, in documentation order.
var SurveyKinds = []SurveyKind{SurveyNPS, SurveyCSAT}

// Survey is a message's satisfaction question (`survey:`): its email shows
// one signed link per score (.survey.links), its SMS asks for a reply with
// the score. Each answer is an event (EventType) and the customer's latest
// answer the attribute of the same name (nps, csat).
type Survey struct {
	Kind     SurveyKind
	Question string
}

// Scale is the lowest and highest score of the kind; ok is false for an
// unknown kind.
func (k SurveyKind) Scale() (lo, hi int, ok bool) {
	switch k {
	case SurveyNPS:
		return 0, 10, true
	case SurveyCSAT:
		return 1, 5, true
	}
	return 0, 0, false
}

// Valid reports whether score is on the kind's scale.
func (k SurveyKind) Valid(score int) bool {
	lo, hi, ok := k.Scale()
	return ok && score >= lo && score <= hi
}

// Class names the group a score falls in: "promoter", "passive" or
// "detractor" (CSAT's 4-5 are its promoters, 3 its passives, 1-2 its
// detractors).
func (k SurveyKind) Class(score int) string {
	switch {
	case k == SurveyNPS && score >= 9, k == SurveyCSAT && score >= 4:
		return "promoter"
	case k == SurveyNPS && score >= 7, k == SurveyCSAT && score == 3:
		return "passive"
	}
	return "detractor"
}

// EventType is the type of the event an answer is: nps_answered,
// csat_answered.
func (k SurveyKind) EventType() string { return string(k) + "_answered" }

// defaultQuestions are asked when survey: names none.
var defaultQuestions = map[SurveyKind]string{
	SurveyNPS:  "How likely are you to recommend us to a friend or colleague?",
	SurveyCSAT: "How satisfied are you with us?",
}

// survey parses `survey: nps`, `survey: {kind: nps, question: "..."}`.
func (p *parser) survey(n *yaml.Node, c *Campaign) {
	n = resolve(n)
	if n == nil {
		return
	}
	kinds := make([]string, len(SurveyKinds))
	for i, k := range SurveyKinds {
		kinds[i] = string(k)
	}
	s := &Survey{}
	if n.Kind == yaml.ScalarNode {
		k, _ := p.oneOf(n, "survey", kinds...)
		s.Kind = SurveyKind(k)
	} else {
		f, ok := p.mapping(n, "survey", []string{"kind", "question"})
		if !ok {
			return
		}
		if kn := f.get("kind"); kn != nil {
			k, _ := p.oneOf(kn, "survey.kind", kinds...)
			s.Kind = SurveyKind(k)
		} else {
			p.errorf(n, "survey needs a kind: nps (0-10) or csat (1-5), e.g. survey: {kind: nps}")
		}
		if qn := f.get("question"); qn != nil {
			s.Question, _ = p.str(qn, "survey.question")
		}
	}
	if s.Question == "" {
		s.Question = defaultQuestions[s.Kind]
	}
	if !c.Recipient.IsCustomer() {
		p.errorf(n, "survey asks the customer: a team alert (recipient: team) cannot carry one")
	}
	c.Survey = s
}

// surveySchema is what templates may read under .survey.
func surveySchema() *schema {
	link := &schema{fields: map[string]*schema{"score": leaf, "url": leaf}, name: "links"}
	return &schema{name: "survey", fields: map[string]*schema{"kind": leaf, "question": leaf, "min": leaf,
		"max": leaf, "reply": leaf, "links": {elem: link, name: "links"}}}
}

// AddSurvey puts the survey's template data in m (a Data map): .survey with
// kind, question, min, max, reply (the SMS instruction, "Reply with a number
// from 0 to 10") and links, one {score, url} per score, url(score) giving
// each one's signed link. A message without a survey adds nothing.
func (c *Campaign) AddSurvey(m map[string]any, url func(score int) string) {
	if c.Survey == nil {
		return
	}
	lo, hi, _ := c.Survey.Kind.Scale()
	links := make([]any, 0, hi-lo+1)
	for s := lo; s <= hi; s++ {
		links = append(links, map[string]any{"score": s, "url": url(s)})
	}
	m["survey"] = map[string]any{"kind": string(c.Survey.Kind), "question": c.Survey.Question, "min": lo, "max": hi,
		"reply": fmt.Sprintf("Reply with a number from %d to %d", lo, hi), "links": links}
}

// ParseScore reads an SMS reply as a score of kind: the whole message is
// one whole number ("9", " 9 ", "9/10", "9!"). ok is false for any other
// text; inRange false for a number off the scale.
func ParseScore(k SurveyKind, body string) (score int, ok, inRange bool) {
	s := strings.TrimSpace(body)
	if before, after, cut := strings.Cut(s, "/"); cut {
		_, hi, _ := k.Scale()
		if strings.TrimSpace(after) != fmt.Sprint(hi) {
			return 0, false, false
		}
		s = strings.TrimSpace(before)
	}
	s = strings.TrimRight(s, ".!")
	if s == "" || len(s) > 3 {
		return 0, false, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false, false
		}
		score = score*10 + int(r-'0')
	}
	return score, true, k.Valid(score)
}
