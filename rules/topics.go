package rules

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// A rule asks whether the customer is subscribed to a topic with
//
//	subscribed("newsletter")
//
// The topic is written in quotes and checked at load against the
// deployment's topics (Options.Topics). A customer is subscribed until
// they leave the topic on their preference page. The engine reads the
// opt-outs of a whole page of customers in one query and hands each
// customer's to the Env with SetOptOuts.

// subscribedName is the rule function of topics.
const subscribedName = "subscribed"

// errNoOptOuts reports a rule calling subscribed on an Env given no
// opt-outs (it would otherwise read everyone as subscribed).
var errNoOptOuts = errors.New("rules: the rule calls subscribed but the Env has no topic opt-outs; read them (Program.ReadsTopics) and call SetOptOuts")

// optOuts is the customer's topic opt-outs as the engine gave them.
type optOuts struct {
	topics []string
}

// SetOptOuts gives env the topics the customer left (nil or empty: none).
// Until it is called for the customer (ClearCustomer forgets it), a rule
// calling subscribed fails instead of reading everyone as subscribed. A
// function, not a method: Env has none (expr would expose them).
func SetOptOuts(env *Env, left []string) {
	if env.optOuts == nil {
		env.optOuts = &optOuts{}
	}
	env.optOuts.topics = left
}

// installTopics sets subscribed on a NewEnv Env.
func installTopics(e *Env) {
	e.Subscribed = func(topic string) bool {
		if e.optOuts == nil {
			panic(errNoOptOuts)
		}
		return !slices.Contains(e.optOuts.topics, topic)
	}
}

// ReadsTopics reports whether the rule calls subscribed: its Env then
// needs the customer's opt-outs (SetOptOuts).
func (p *Program) ReadsTopics() bool { return p.topics }

// topicCall checks a call of subscribed: one configured topic, in quotes.
func (p *policy) topicCall(n *ast.CallNode) {
	p.topics = true
	const example = `subscribed("newsletter")`
	if len(n.Arguments) != 1 {
		p.fail(n, "subscribed takes one topic in quotes, e.g. %s", example)
		return
	}
	arg, ok := n.Arguments[0].(*ast.StringNode)
	if !ok {
		p.fail(n.Arguments[0], "subscribed takes the topic in quotes, e.g. %s", example)
		return
	}
	if slices.Contains(p.opt.Topics, arg.Value) {
		return
	}
	if len(p.opt.Topics) == 0 {
		p.fail(arg, "subscribed: %q is not a topic: none are configured (TIDINGS_TOPICS)", arg.Value)
		return
	}
	q := make([]string, len(p.opt.Topics))
	for i, t := range p.opt.Topics {
		q[i] = strconv.Quote(t)
	}
	sugg := suggest(arg.Value, p.opt.Topics)
	hint := didYouMean(sugg)
	if hint == "" {
		hint = " (topics: " + strings.Join(q, ", ") + ")"
	}
	if p.fail(arg, "subscribed: %q is not a configured topic%s", arg.Value, hint) {
		p.first.Suggestions = sugg
	}
}
