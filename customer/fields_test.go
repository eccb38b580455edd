package customer_test

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/customer"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/store/synth"
	"github.com/tidings-crm/tidings/worker"
)

// TestEveryListHasEveryField checks, against the registry, every list of
// customer fields that is not made from it: the structs and the hand-written
// copies the hot paths read without reflection, the writers of each group,
// the migrations, the synthetic data and the generated docs tables. Each
// subtest is one list, and a failure names the field and what to add
// where. (rules' own TestFieldGettersMatchReflection checks that every
// rules.Env field has its getter.)
func TestEveryListHasEveryField(t *testing.T) {
	t.Run("registry", checkRegistry)
	structs := t.Run("store.Customer", func(t *testing.T) {
		checkStruct(t, "store.Customer", reflect.TypeFor[store.Customer](), "db", customer.Columns())
	})
	structs = t.Run("store.InsightRow", func(t *testing.T) {
		checkStruct(t, "store.InsightRow", reflect.TypeFor[store.InsightRow](), "db", customer.SetBy(customer.Insights))
	}) && structs
	t.Run("rules.Env", checkEnv)
	t.Run("worker.FillEnv", checkFillEnv)
	t.Run("campaigns.TemplateData", checkTemplateData)
	t.Run("synth.Profiles", checkSynth)
	t.Run("docs", checkDocs)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			if !structs {
				t.Skip("the store's structs do not match the registry yet (see above): it cannot read customers")
			}
			t.Run("migrations", func(t *testing.T) { checkMigrations(t, d) })
			t.Run("imports.Customers", func(t *testing.T) { checkImport(t, d) })
			t.Run("store.SaveInsights", func(t *testing.T) { checkSaveInsights(t, d) })
			t.Run("purchase metrics", func(t *testing.T) { checkPurchaseMetrics(t, d) })
			t.Run("worker.Backtest", func(t *testing.T) { checkBacktest(t, d) })
		})
	}
}

// checkRegistry holds the registry to its own rules.
func checkRegistry(t *testing.T) {
	columns, names := map[string]bool{}, map[string]bool{}
	for _, f := range customer.Fields {
		what := f.Column + f.Name
		switch {
		case f.Column == "" && f.Name == "":
			t.Errorf("a field has neither a column nor a name: %+v", f)
		case f.Type.GoType() == nil:
			t.Errorf("%s: unknown type %d", what, f.Type)
		case f.Doc == "" && f.Name != "":
			t.Errorf("%s: no Doc; the docs table shows it", what)
		case f.Column == "" && len(f.From) == 0:
			t.Errorf("%s: a name without a column says the columns it is computed From", what)
		case f.Column != "" && len(f.From) > 0:
			t.Errorf("%s: a stored field reads its own column; From is for computed names", what)
		case f.Import != (f.Example != ""):
			t.Errorf("%s: an import column has an Example cell, and only an import column", what)
		case f.Import && f.Set != customer.Profile:
			t.Errorf("%s: only profile columns are imported", what)
		case f.Few && f.Type != customer.Text:
			t.Errorf("%s: only text columns are interned (Few)", what)
		}
		if f.Column != "" && columns[f.Column] || f.Name != "" && names[f.Name] {
			t.Errorf("%s is in customer.Fields twice", what)
		}
		columns[f.Column], names[f.Name] = true, true
	}
	for _, f := range customer.Fields {
		for _, c := range f.From {
			if !columns[c] {
				t.Errorf("%s is computed from %s, which is not a column of customer.Fields", f.Name, c)
			}
		}
	}
}

// checkStruct holds the fields of t tagged tag to want, both ways, with the
// registry's Go types.
func checkStruct(t *testing.T, list string, typ reflect.Type, tag string, want []string) {
	have := map[string]reflect.StructField{}
	for i := range typ.NumField() {
		if v := typ.Field(i).Tag.Get(tag); v != "" && v != "-" {
			have[v] = typ.Field(i)
		}
	}
	for _, col := range want {
		f, _ := customer.ByColumn(col)
		sf, ok := have[col]
		switch {
		case !ok:
			t.Errorf("%s has no field for column %s: add one of type %s tagged %s:%q", list, col, f.Type.GoType(), tag, col)
		case sf.Type != f.Type.GoType():
			t.Errorf("%s.%s (column %s) is a %s; customer.Fields makes it a %s, read as %s", list, sf.Name, col, sf.Type,
				f.Type, f.Type.GoType())
		}
		delete(have, col)
	}
	for col, sf := range have {
		t.Errorf("%s.%s (%s:%q) is not in customer.Fields for this list: add the field there", list, sf.Name, tag, col)
	}
}

// checkEnv holds the customer part of rules.Env to the registry's names,
// both ways, with the types rules see.
func checkEnv(t *testing.T) {
	env := map[string]string{}
	for _, n := range rules.Names() {
		path, typ, _ := strings.Cut(n, " ")
		env[path] = typ
	}
	for _, f := range customer.Fields {
		if f.Name == "" {
			continue
		}
		typ, ok := env[f.Name]
		switch {
		case !ok:
			t.Errorf("rules.Env has no %s: add a field of type %s tagged expr:%q (in a struct for a dotted name), "+
				"its getter in rules/calls.go (envGetters) and its line in worker.FillEnv", f.Name, f.Type.RuleType(), f.Name)
		case typ != f.Type.RuleType():
			t.Errorf("rules.Env's %s is a %s; customer.Fields makes it a %s", f.Name, typ, f.Type.RuleType())
		}
	}
	for path, typ := range env {
		root, _, _ := strings.Cut(path, ".")
		struc := slices.ContainsFunc(rules.Names(), func(n string) bool { return strings.HasPrefix(n, path+".") })
		if strings.HasPrefix(typ, "func") || notCustomer[root] || struc {
			continue // not a customer field, or a struct of them (rfm)
		}
		if _, ok := byName(path); !ok {
			t.Errorf("rules.Env's %s (%s) is not in customer.Fields: add it there "+
				"(or, when it is not about the customer, to notCustomer in this test)", path, typ)
		}
	}
}

// notCustomer are the parts of rules.Env that are not the customer: the
// triggering event, a journey's own history, the clock.
var notCustomer = map[string]bool{"event": true, "journey": true, "now": true}

func byName(name string) (customer.Field, bool) {
	i := slices.IndexFunc(customer.Fields, func(f customer.Field) bool { return f.Name == name })
	if i < 0 {
		return customer.Field{}, false
	}
	return customer.Fields[i], true
}

// envNow is the clock of the environments below: after every sample time.
var envNow = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// checkFillEnv proves worker.FillEnv fills each name from exactly the
// columns the registry lists for it: clearing a listed column changes the
// name, clearing any other leaves it alone. A lean audience streams only the
// listed columns, so a name that read another would see it zero.
func checkFillEnv(t *testing.T) {
	full := sampleCustomer(t)
	base := envNames(full)
	for _, f := range customer.Fields {
		if f.Name != "" && isZero(base[f.Name]) {
			t.Errorf("worker.FillEnv leaves %s zero for a customer with every column set: add its line", f.Name)
		}
	}
	for _, col := range customer.Columns() {
		c := *full
		field(t, reflect.ValueOf(&c).Elem(), col).SetZero()
		got := envNames(&c)
		for _, f := range customer.Fields {
			if f.Name == "" {
				continue
			}
			changed, reads := !same(got[f.Name], base[f.Name]), slices.Contains(f.Columns(), col)
			switch {
			case changed && !reads:
				t.Errorf("worker.FillEnv reads column %s into %s, which customer.Fields does not list for it "+
					"(its Column or From): a lean audience would leave the column zero", col, f.Name)
			case reads && !changed:
				t.Errorf("worker.FillEnv does not read column %s into %s: add it to FillEnv", col, f.Name)
			}
		}
	}
}

// envNames fills an environment from c and returns each registry name's
// value in it.
func envNames(c *store.Customer) map[string]any {
	env := rules.NewEnv(time.UTC)
	env.Now = envNow
	worker.FillEnv(env, c)
	out := map[string]any{}
	for _, name := range customer.Names() {
		out[name] = envValue(reflect.ValueOf(env).Elem(), name)
	}
	return out
}

// envValue reads the Env field of a rule name, nil when there is none.
func envValue(v reflect.Value, path string) any {
	name, rest, nested := strings.Cut(path, ".")
	for i := range v.NumField() {
		if v.Type().Field(i).Tag.Get("expr") != name {
			continue
		}
		if nested {
			return envValue(v.Field(i), rest)
		}
		return v.Field(i).Interface()
	}
	return nil
}

// checkTemplateData: every name is in a message template's data.
func checkTemplateData(t *testing.T) {
	env := rules.NewEnv(time.UTC)
	worker.FillEnv(env, sampleCustomer(t))
	data := campaigns.TemplateData(env)
	for _, name := range customer.Names() {
		var v any = data
		for part := range strings.SplitSeq(name, ".") {
			m, _ := v.(map[string]any)
			v = m[part]
		}
		if v == nil {
			t.Errorf("campaigns.TemplateData has no .%s: it shows the fields of rules.Env", name)
		}
	}
}

// checkSynth: the benchmarks' synthetic customers set every column, as a
// stored customer with purchases and scores has it, for some of them.
func checkSynth(t *testing.T) {
	set := map[string]bool{}
	for c := range synth.Profiles(2000, 1, envNow) {
		v := reflect.ValueOf(c).Elem()
		for _, col := range customer.Columns() {
			if !field(t, v, col).IsZero() {
				set[col] = true
			}
		}
	}
	for _, col := range customer.Columns() {
		if !set[col] {
			t.Errorf("synth.Profiles never sets column %s: draw it in store/synth/profiles.go as the store holds it", col)
		}
	}
}

// sampleCustomer has every column set to a value that is not zero.
func sampleCustomer(t *testing.T) *store.Customer {
	c := new(store.Customer)
	v := reflect.ValueOf(c).Elem()
	for _, f := range customer.Fields {
		if f.Column != "" {
			field(t, v, f.Column).Set(reflect.ValueOf(sample(t, f.Type)))
		}
	}
	return c
}

// sample is a value of typ that is not zero and fits every column of it
// (an RFM score, a lifecycle stage).
func sample(t *testing.T, typ customer.Type) any {
	switch typ {
	case customer.Text:
		return "active"
	case customer.Int:
		return 4
	case customer.BigInt, customer.Cents:
		return int64(12345)
	case customer.Float:
		return 0.75
	case customer.Bool:
		return true
	case customer.Date:
		return time.Date(1990, 12, 31, 0, 0, 0, 0, time.UTC)
	case customer.Time:
		return time.Date(2025, 11, 2, 9, 30, 0, 0, time.UTC)
	case customer.List:
		return []string{"vip"}
	case customer.Map:
		return map[string]any{"plan": "gold"}
	}
	t.Fatalf("no sample of type %s", typ)
	return nil
}

// field is the field of v (a struct) tagged db:col; without one the
// subtest stops (the struct's own subtest says what to add).
func field(t testing.TB, v reflect.Value, col string) reflect.Value {
	for i := range v.NumField() {
		if v.Type().Field(i).Tag.Get("db") == col {
			return v.Field(i)
		}
	}
	t.Fatalf("%s has no field tagged db:%q", v.Type(), col)
	return reflect.Value{}
}

// same compares two values of a field: times as instants, floats to 1e-9.
func same(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(x))
	}
	return reflect.DeepEqual(a, b)
}

func isZero(v any) bool { return v == nil || reflect.ValueOf(v).IsZero() }
