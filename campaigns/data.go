package campaigns

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/rules"
)

// TemplateData builds the data a message template sees from a customer
// environment: the same snake_case names as audience rules (.first_name,
// .rfm.segment, .event.amount, ...). Function fields are left out, and so
// is journey, which only a journey's send steps read (Campaign.Data adds
// it). Render adds .offer, .campaign and .variant; the caller adds
// .unsubscribe_url.
func TemplateData(env *rules.Env) map[string]any {
	return structMap(reflect.ValueOf(env).Elem())
}

// Data is TemplateData plus everything Render and the templates expect for
// this campaign: .offer, .campaign {id, name}, .variant, .unsubscribe_url,
// and for a journey's send step .journey (.preferences_url empty: DataWith
// sets it).
func (c *Campaign) Data(env *rules.Env, variant, unsubscribeURL string) map[string]any {
	return c.DataWith(env, variant, Links{Unsubscribe: unsubscribeURL})
}

// Links are the customer's own links a message carries: the one-click
// unsubscribe and the preference page (topics, unsubscribe from all).
type Links struct {
	Unsubscribe string // .unsubscribe_url
	Preferences string // .preferences_url
}

// DataWith is Data with every link of the message.
func (c *Campaign) DataWith(env *rules.Env, variant string, links Links) map[string]any {
	m := TemplateData(env)
	c.addCampaignData(m, variant)
	m["unsubscribe_url"] = links.Unsubscribe
	m["preferences_url"] = links.Preferences
	if c.journeyStep {
		m[journeyData] = structMap(reflect.ValueOf(&env.Journey).Elem())
	}
	return m
}

// sendData is the name of a POST /v1/send request's data in the templates
// of an api-triggered campaign: any key (.data.order_id).
const sendData = "data"

// WithSendData adds a transactional send's data to a message's template
// data m.
func WithSendData(m map[string]any, data map[string]any) map[string]any {
	m[sendData] = data
	return m
}

// journeyData is the name of the journey's data in a send step's
// templates, as in its branch rules.
const journeyData = "journey"

// journeyType is left out of TemplateData and of a campaign's schema.
var journeyType = reflect.TypeFor[rules.Journey]()

func (c *Campaign) addCampaignData(m map[string]any, variant string) {
	offer := make(map[string]any, len(c.Offer))
	for k, v := range c.Offer {
		offer[k] = v
	}
	m["offer"] = offer
	m["campaign"] = map[string]any{"id": c.ID, "name": c.Name}
	m["variant"] = variant
}

// envField is one exported, expr-tagged, non-function struct field.
type envField struct {
	index int
	name  string
}

var (
	fieldCache sync.Map // reflect.Type -> []envField
	timeType   = reflect.TypeFor[time.Time]()
)

// fieldsOf lists a struct type's template-visible fields, once per type.
func fieldsOf(t reflect.Type) []envField {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]envField)
	}
	var out []envField
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		if !f.IsExported() || name == "" || name == "-" || f.Type.Kind() == reflect.Func || f.Type == journeyType {
			continue
		}
		out = append(out, envField{index: i, name: name})
	}
	fieldCache.Store(t, out)
	return out
}

func structMap(v reflect.Value) map[string]any {
	fs := fieldsOf(v.Type())
	m := make(map[string]any, len(fs)+4)
	for _, f := range fs {
		m[f.name] = convertValue(v.Field(f.index))
	}
	return m
}

func isRecord(t reflect.Type) bool { return t.Kind() == reflect.Struct && t != timeType }

// convertValue turns nested structs into maps so templates use tag names.
func convertValue(v reflect.Value) any {
	switch {
	case isRecord(v.Type()):
		return structMap(v)
	case v.Kind() == reflect.Slice && isRecord(v.Type().Elem()):
		out := make([]map[string]any, v.Len())
		for i := range out {
			out[i] = structMap(v.Index(i))
		}
		return out
	}
	return v.Interface()
}

// schema describes which field chains a template may use. A nil *schema
// means "not checked" (times, unknown values).
type schema struct {
	fields map[string]*schema // a record
	open   bool               // a free-form map: any key
	elem   *schema            // a list's element
	name   string             // the chain so far, for messages
}

// leaf is a value without fields (a string, a number).
var leaf = &schema{}

func schemaOf(t reflect.Type, name string) *schema {
	switch {
	case t == timeType:
		return nil
	case isRecord(t):
		s := &schema{fields: map[string]*schema{}, name: name}
		for _, f := range fieldsOf(t) {
			s.fields[f.name] = schemaOf(t.Field(f.index).Type, f.name)
		}
		return s
	case t.Kind() == reflect.Slice:
		return &schema{elem: schemaOf(t.Elem(), name), name: name}
	case t.Kind() == reflect.Map:
		return &schema{open: true, name: name}
	}
	return leaf
}

// rootSchema is the data of one campaign's templates.
func rootSchema(offerKeys []string) *schema {
	root := schemaOf(reflect.TypeFor[rules.Env](), "")
	offer := &schema{fields: map[string]*schema{}, name: "offer"}
	for _, k := range offerKeys {
		offer.fields[k] = leaf
	}
	root.fields["offer"] = offer
	root.fields["campaign"] = &schema{fields: map[string]*schema{"id": leaf, "name": leaf}, name: "campaign"}
	root.fields["variant"] = leaf
	root.fields["unsubscribe_url"] = leaf
	root.fields["preferences_url"] = leaf
	return root
}

// names lists a record's field names, sorted.
func (s *schema) names() []string {
	out := make([]string, 0, len(s.fields))
	for k := range s.fields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ReadsJourney reports whether the templates of a journey's send step may
// read .journey (their source names it): only then does a send look up the
// journey's facts for them. It is false for any other campaign.
func (c *Campaign) ReadsJourney() bool {
	if !c.journeyStep || c.messages == nil {
		return false
	}
	sets := []map[Channel]*channelMessages{c.messages.channels}
	for _, v := range c.messages.variants {
		sets = append(sets, v)
	}
	for _, set := range sets {
		for _, cm := range set {
			fields := []msgFields{cm.base}
			for _, f := range cm.locales {
				fields = append(fields, f)
			}
			for _, f := range fields {
				for _, t := range f {
					if t != nil && strings.Contains(t.src, journeyData) {
						return true
					}
				}
			}
		}
	}
	return false
}
