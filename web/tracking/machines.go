package tracking

import (
	_ "embed"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

//go:embed machines.txt
var machinesFile string

// machineRule is one line of machines.txt.
type machineRule struct {
	what  string // open, click or any
	test  string // agent, agent-has or network
	value string
	net   netip.Prefix
	why   string
}

// Machines are the rules telling machine fetches from people's, read from
// machines.txt (embedded).
type Machines struct {
	rules []machineRule
}

// DefaultMachines are the rules of machines.txt.
func DefaultMachines() *Machines {
	m, err := ParseMachines(machinesFile)
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return m
}

// ParseMachines reads rules in the format of machines.txt.
func ParseMachines(text string) (*Machines, error) {
	m := &Machines{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseMachineRule(line)
		if err != nil {
			return nil, fmt.Errorf("machines.txt:%d: %w", i+1, err)
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

func parseMachineRule(line string) (machineRule, error) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return machineRule{}, fmt.Errorf("want WHAT TEST VALUE [WHY], got %q", line)
	}
	r := machineRule{what: f[0], test: f[1]}
	if r.what != "open" && r.what != "click" && r.what != "any" {
		return r, fmt.Errorf("%q: WHAT is open, click or any", r.what)
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, f[0])), f[1]))
	if strings.HasPrefix(rest, `"`) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return r, fmt.Errorf("unterminated quoted value: %s", rest)
		}
		r.value, _ = strconv.Unquote(q)
		r.why = strings.TrimSpace(rest[len(q):])
	} else {
		r.value, r.why, _ = strings.Cut(rest, " ")
		r.why = strings.TrimSpace(r.why)
	}
	if r.why == "" {
		r.why = r.test + " " + strconv.Quote(r.value)
	}
	switch r.test {
	case "agent":
	case "agent-has":
		if r.value == "" {
			return r, fmt.Errorf("agent-has needs a value")
		}
		r.value = strings.ToLower(r.value)
	case "network":
		p, err := netip.ParsePrefix(r.value)
		if err != nil {
			return r, fmt.Errorf("network %q: want a CIDR such as 17.0.0.0/8", r.value)
		}
		r.net = p.Masked()
	default:
		return r, fmt.Errorf("%q: TEST is agent, agent-has or network", r.test)
	}
	return r, nil
}

// Match returns why a fetch of kind (KindOpen, or a click) by agent from
// addr is a machine's, or "" for a person's. addr may be invalid (unknown).
func (m *Machines) Match(kind Kind, agent string, addr netip.Addr) string {
	what := "click"
	if kind == KindOpen {
		what = "open"
	}
	var lower string
	for _, r := range m.rules {
		if r.what != "any" && r.what != what {
			continue
		}
		switch r.test {
		case "agent":
			if agent == r.value {
				return r.why
			}
		case "agent-has":
			if lower == "" {
				lower = strings.ToLower(agent)
			}
			if strings.Contains(lower, r.value) {
				return r.why
			}
		case "network":
			if addr.IsValid() && r.net.Contains(addr.Unmap()) {
				return r.why
			}
		}
	}
	return ""
}
