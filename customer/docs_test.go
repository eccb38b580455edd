package customer_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/customer"
)

var update = flag.Bool("update", false, "rewrite the docs tables made from the registry")

// docTables are the tables the docs hold of the registry: each file's text
// between its markers is made by the function.
var docTables = []struct {
	file  string
	table func() string
}{
	{"../docs/campaigns.md", fieldsTable},
	{"../docs/imports.md", importTable},
}

const (
	beginMarker = "<!-- made from customer/fields.go by `go test ./customer -update`: edit the registry, not this table -->\n"
	endMarker   = "<!-- end of the table made from customer/fields.go -->\n"
)

// checkDocs holds the docs tables to the registry; -update rewrites them.
func checkDocs(t *testing.T) {
	for _, d := range docTables {
		raw, err := os.ReadFile(d.file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		before, rest, ok1 := strings.Cut(text, beginMarker)
		_, after, ok2 := strings.Cut(rest, endMarker)
		if !ok1 || !ok2 {
			t.Fatalf("%s has no table made from the registry (between %q and %q)", d.file, beginMarker, endMarker)
		}
		want := before + beginMarker + d.table() + endMarker + after
		if want == text {
			continue
		}
		if !*update {
			t.Errorf("%s's table of customer fields is not the registry's: run go test ./customer -update", d.file)
			continue
		}
		if err := os.WriteFile(d.file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var setBy = map[customer.Setter]string{
	customer.Profile:   "profile (import, webhook)",
	customer.Purchases: "every purchase",
	customer.Insights:  "`insights refresh`",
	customer.Record:    "the store",
	customer.Surveys:   "a survey answer",
}

// fieldsTable is docs/campaigns.md's table of the names rules read.
func fieldsTable() string {
	var b strings.Builder
	b.WriteString("| name | type | what it holds | set by |\n| --- | --- | --- | --- |\n")
	for _, f := range customer.Fields {
		if f.Name != "" {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, f.Type.RuleType(), f.Doc, setBy[f.Set])
		}
	}
	return b.String()
}

// importTable is docs/imports.md's table of the customer CSV columns.
func importTable() string {
	var b strings.Builder
	b.WriteString("| column | what it holds | example |\n| --- | --- | --- |\n")
	for _, f := range customer.Fields {
		if f.Import {
			fmt.Fprintf(&b, "| `%s` | %s | `%s` |\n", f.Column, f.Doc, f.Example)
		}
	}
	return b.String()
}
