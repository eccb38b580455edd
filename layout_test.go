// The repository's layout, checked: the arrows of the README's "How it
// works" map. A package may import only packages of a lower layer, or
// packages of its own folder (channels/outbox uses channels/email); test
// files may reach higher (a worker test drives the admin API).
package tidings_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tidings-crm/tidings/"

// layers is the map, lowest first. A package belongs to the first entry that
// is its path or a folder above it.
var layers = []struct {
	layer int
	path  string
	job   string
}{
	{0, "migrations", "numbered SQL per dialect, embedded"},
	{0, "insights", "pure computation: RFM, lifecycle, BG/NBD, Gamma-Gamma"},
	{0, "channels", "message transports: email, SMS, outbox; never the store"},
	{0, "customer", "the registry of customer fields"},
	{0, "internal", "helpers for the tests: the deadline poll, the benchmarks' HTTP load"},
	{0, "typo", "edit distance for did-you-mean suggestions"},
	{-1, "stdwebhook", "the Standard Webhooks scheme: secrets, signing, verification (below channels, which sign with it)"},
	{1, "rules", "expr rules over the customer environment"},
	{1, "store", "SQL data access, imports, synthetic data"},
	{2, "campaigns", "the campaign model and its timing rules"},
	{3, "triggers", "inbound events: the signed webhook, parsing, ingest"},
	{4, "worker", "the engine: planning, delivery, scheduling, reconciling"},
	{5, "web", "the HTTP surface: admin API, dashboard, unsubscribe pages, inbound SMS, tracked links"},
	{6, "cmd", "the CLI and process wiring"},
	{6, "scripts", "tools for the build"},
}

// placeOf returns a package's layer entry (by its path under the module).
func placeOf(pkg string) (layer int, top string, ok bool) {
	for _, l := range layers {
		if pkg == l.path || strings.HasPrefix(pkg, l.path+"/") {
			return l.layer, l.path, true
		}
	}
	return 0, "", false
}

// allowed says why package from may not import package to, or nil.
func allowed(from, to string) error {
	fl, ft, _ := placeOf(from)
	tl, tt, ok := placeOf(to)
	switch {
	case !ok:
		return fmt.Errorf("%s imports %s, which has no place in the layout", from, to)
	case ft == "channels" && tt == "store":
		return fmt.Errorf("%s imports %s: channels never import the store; pass what they need in the message", from, to)
	case ft == tt:
		return nil // within one folder
	case tl >= fl:
		return fmt.Errorf("%s (layer %d, %s) imports %s (layer %d, %s): imports must point down the layout", from, fl, ft, to, tl, tt)
	}
	return nil
}

// TestImportsPointDown fails when a package imports upward (or sideways into
// another folder of its own layer), when a channel imports the store, or when
// a package has no place in the map.
func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(fields[0], module)
		if pkg == strings.TrimSuffix(module, "/") {
			continue // this test's own package
		}
		if _, _, ok := placeOf(pkg); !ok {
			t.Errorf("%s has no place in the layout: add its folder to layers here and to the README's map", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module) {
				checked++
				if err := allowed(pkg, strings.TrimPrefix(imp, module)); err != nil {
					t.Error(err)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d imports: go list output not as expected:\n%s", checked, out)
	}
}

// TestAllowedRefusesUpwardImports proves the check on a made-up graph: a store
// package importing the worker, and a channel importing the store, are both
// refused by the same rule the real graph passes.
func TestAllowedRefusesUpwardImports(t *testing.T) {
	cases := []struct {
		from, to string
		ok       bool
	}{
		{"worker", "store", true},
		{"web/admin", "worker", true},
		{"channels/outbox", "channels/email", true},
		{"store", "worker", false},
		{"campaigns", "triggers", false},
		{"channels/sms", "store", false},
		{"triggers", "web/admin", false},
		{"rules", "store", false}, // same layer, other folder
	}
	for _, c := range cases {
		if err := allowed(c.from, c.to); (err == nil) != c.ok {
			t.Errorf("%s -> %s: allowed(...) = %v, want allowed %v", c.from, c.to, err, c.ok)
		}
	}
}
