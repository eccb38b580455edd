package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tidings-crm/tidings/campaigns"
)

// writePolicy writes a policy file into a fresh folder.
func writePolicy(t *testing.T, yaml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const brokenPolicy = "caps:\n  sms:\n    promotional: 3 per 7d\n  mail: {alert: 1 per 1d}\nregions:\n  FL: {}\n"

// TestValidateChecksThePolicy: validate checks the policy file named by
// --policy (or TIDINGS_POLICY) with the campaigns, each problem at its
// file:line:col; the shipped examples pass.
func TestValidateChecksThePolicy(t *testing.T) {
	t.Parallel()
	for _, example := range []string{"../../examples/policy.yaml", "../../examples/policy-us.yaml"} {
		if code, out, errOut := cli(t, "validate", "--policy", example, "../../examples/campaigns"); code != 0 {
			t.Errorf("validate --policy %s: exit %d\n%s%s", example, code, out, errOut)
		}
	}
	file := writePolicy(t, brokenPolicy)
	code, out, errOut := cli(t, "validate", "--policy", file, "../../examples/campaigns")
	want := []string{
		file + `:4:3: unknown key "mail" in caps; did you mean "email"? (valid keys: email, sms)`,
		file + `:6:3: regions: "FL": only US states can be told from a phone number (by its area code); write US-XX, e.g. US-FL`,
	}
	if code != 1 || !strings.Contains(errOut, "2 error(s) in campaign and policy files") {
		t.Errorf("validate a broken policy: exit %d, stderr %q", code, errOut)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("validate output lacks %q:\n%s", w, out)
		}
	}
}

// TestServeRefusesABrokenPolicyAndReportsABrokenEdit: a process does not
// start on a policy file with errors (there is no earlier version to keep)
// and says where they are; a running one that sees a broken edit keeps its
// policy and /readyz says "degraded", naming the file and, to the admin,
// its problems.
func TestServeRefusesABrokenPolicyAndReportsABrokenEdit(t *testing.T) {
	t.Parallel()
	world := reportWorld(t)
	a := &app{stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	a.cfg.bindFlags(fs)
	file := writePolicy(t, brokenPolicy)
	if err := fs.Parse(append(world, "--redis-url", "embedded", "--policy", file)); err != nil {
		t.Fatal(err)
	}
	if err := a.cfg.load(fs, ""); err != nil {
		t.Fatal(err)
	}
	rt, err := a.openRuntime(context.Background(), true)
	if err == nil {
		rt.close()
		t.Fatal("started on a broken policy file")
	}
	if msg := err.Error(); !strings.Contains(msg, "TIDINGS_POLICY") || !strings.Contains(msg, file+":4:3: unknown key") {
		t.Errorf("start error %q; want it to name TIDINGS_POLICY and each problem's file:line:col", msg)
	}

	good := writePolicy(t, "caps: {sms: {promotional: 1 per 7d}}\n")
	rt, srv := serveRuntime(t, append(world, "--policy", good))
	readyz := func(admin bool) readiness {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/readyz", nil)
		if admin {
			req.Header.Set("Authorization", "Bearer s3cret-admin")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r readiness
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := readyz(true); r.Status != "ready" || r.BrokenPolicy != nil {
		t.Fatalf("with a valid policy: %+v", r)
	}
	if err := os.WriteFile(good, []byte(brokenPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	rt.engine.LoadPolicy(good)
	if r := readyz(true); r.Status != "degraded" || r.BrokenPolicy == nil || r.BrokenPolicy.File != good ||
		len(r.BrokenPolicy.Problems) != 2 {
		t.Errorf("after a broken edit, to the admin: %+v", r)
	}
	if r := readyz(false); r.BrokenPolicy == nil || r.BrokenPolicy.File != "policy.yaml" || len(r.BrokenPolicy.Problems) != 0 {
		t.Errorf("after a broken edit, to anyone: %+v", r.BrokenPolicy)
	}
	if caps := rt.engine.Policy().Caps(campaigns.SMS, campaigns.ClassPromotional, campaigns.Place{}); len(caps) != 1 || caps[0].Max != 1 {
		t.Errorf("after a broken edit the policy in force has SMS caps %v, want its last valid 1 per 7d", caps)
	}
}
