package campaigns

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity says whether a Problem makes a campaign unusable (error) or is
// only worth a look (warning, e.g. an SMS longer than one segment).
type Severity int

const (
	// SeverityError means the campaign is rejected.
	SeverityError Severity = iota
	// SeverityWarning means the campaign loads but something looks wrong.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one thing wrong with a campaign file, with its exact place so an
// editor or a CI log can point at it. Line and Col are 1-based; 0 means the
// problem concerns the whole file.
type Problem struct {
	File     string
	Line     int
	Col      int
	Severity Severity
	Message  string
}

// String formats the problem as file:line:col: message, the form editors
// understand; warnings carry a "warning: " prefix.
func (p Problem) String() string {
	msg := p.Message
	if p.Severity == SeverityWarning {
		msg = "warning: " + msg
	}
	switch {
	case p.Line <= 0:
		return fmt.Sprintf("%s: %s", p.File, msg)
	case p.Col <= 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, msg)
}

// HasErrors reports whether any problem is an error (warnings do not count).
func HasErrors(problems []Problem) bool {
	for _, p := range problems {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// sortProblems orders problems by file, then position, so output is stable.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
