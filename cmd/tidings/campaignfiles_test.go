package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// worldWithBrokenFile is reportWorld plus a broken campaign file beside
// spring.yaml; it returns the flags and the two files.
func worldWithBrokenFile(t *testing.T) (flags []string, spring, broken string) {
	t.Helper()
	flags = reportWorld(t)
	dir := flags[len(flags)-1]
	broken = filepath.Join(dir, "a-broken.yaml")
	// Fails to load at its audience rule, line 4, column 11.
	text, err := os.ReadFile("../../campaigns/testdata/broken-rule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, text, 0o644); err != nil {
		t.Fatal(err)
	}
	return flags, filepath.Join(dir, "spring.yaml"), broken
}

// getReadyz reads /readyz as the operator does, with the admin token.
func getReadyz(t *testing.T, url string) readiness {
	t.Helper()
	return getReadyzAs(t, url, "Bearer s3cret-admin")
}

// getReadyzAs reads /readyz with the Authorization header auth ("" for none).
func getReadyzAs(t *testing.T, url, auth string) readiness {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/readyz", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r readiness
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != http.StatusOK ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/readyz: %d %s (%v); want 200 JSON", resp.StatusCode, body, err)
	}
	return r
}

// dashboardPage returns the dashboard's campaign list, read with the admin token.
func dashboardPage(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/dashboard", nil)
	req.Header.Set("Authorization", "Bearer s3cret-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return string(page)
}

// TestServeRunsValidCampaignsBesideABrokenFile: serve starts with a broken
// campaign file beside a valid one; /readyz stays 200 and says "degraded"
// with the file and its problem at file:line:col; the dashboard shows a
// banner; when the valid file breaks too, its campaign keeps running and
// /readyz says so.
func TestServeRunsValidCampaignsBesideABrokenFile(t *testing.T) {
	t.Parallel()
	flags, spring, broken := worldWithBrokenFile(t)
	rt, srv := serveRuntime(t, flags)
	if got := rt.engine.Campaigns(); len(got) != 1 || got[0].ID != "spring" {
		t.Fatalf("serve loaded %v, want spring", got)
	}
	r := getReadyz(t, srv.URL)
	if r.Status != "degraded" || r.Campaigns != 1 || len(r.BrokenFiles) != 1 || r.BrokenFiles[0].File != broken ||
		!strings.HasPrefix(r.BrokenFiles[0].Problems[0], broken+":4:11: audience: unknown name") {
		t.Fatalf("/readyz = %+v, want degraded with %s at 4:11", r, broken)
	}
	// Without the token (a load balancer, anyone): the file's name, not its
	// folder nor its problem text.
	anon := getReadyzAs(t, srv.URL, "")
	if anon.Status != "degraded" || len(anon.BrokenFiles) != 1 || anon.BrokenFiles[0].File != filepath.Base(broken) ||
		len(anon.BrokenFiles[0].Problems) != 0 || anon.BrokenFiles[0].More == 0 {
		t.Fatalf("anonymous /readyz = %+v, want the base name %s and a problem count only", anon, filepath.Base(broken))
	}

	page := dashboardPage(t, srv.URL)
	if !strings.Contains(page, `class="banner"`) || !strings.Contains(page, broken+":4:11: ") ||
		!strings.Contains(page, "Spring sale") {
		t.Errorf("dashboard lacks the banner naming %s, or the running campaign:\n%s", broken, page)
	}

	if err := os.WriteFile(spring, []byte("id: spring\nname: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt.engine.LoadCampaigns(flags[len(flags)-1]) // what the watcher does on the change
	r = getReadyz(t, srv.URL)
	if r.Status != "degraded" || r.Campaigns != 1 || len(r.BrokenFiles) != 2 || r.BrokenFiles[1].File != spring ||
		r.BrokenFiles[1].Kept != "spring" {
		t.Fatalf("/readyz = %+v, want spring kept running from %s", r, spring)
	}
	if page := dashboardPage(t, srv.URL); !strings.Contains(page, "<strong>spring</strong> keeps running its last valid version") {
		t.Errorf("dashboard banner does not say spring keeps running:\n%s", page)
	}

	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spring, []byte(reportCampaignYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	rt.engine.LoadCampaigns(flags[len(flags)-1])
	if r = getReadyz(t, srv.URL); r.Status != "ready" || r.Campaigns != 1 || len(r.BrokenFiles) != 0 {
		t.Fatalf("/readyz = %+v after the fix, want ready", r)
	}
}

// TestAudienceAndPreviewRunBesideABrokenFile: audience and preview of a
// valid campaign work with a broken sibling file, warning about it on
// stderr; validate still fails on it.
func TestAudienceAndPreviewRunBesideABrokenFile(t *testing.T) {
	t.Parallel()
	flags, _, broken := worldWithBrokenFile(t)
	for _, args := range [][]string{{"audience", "spring"}, {"preview", "spring", "--customer", "c1"}} {
		code, out, errOut := cli(t, append(flags, args...)...)
		if code != 0 || !strings.Contains(out, "spring") && !strings.Contains(out, "Spring") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		if !strings.Contains(errOut, "warning: 1 campaign file(s)") || !strings.Contains(errOut, broken+":4:11: ") {
			t.Errorf("%v: stderr does not warn about %s:\n%s", args, broken, errOut)
		}
	}
	code, _, errOut := cli(t, append(flags, "audience", "broken")...)
	if code == 0 || !strings.Contains(errOut, broken+":4:11: ") || !strings.Contains(errOut, "files with errors") {
		t.Errorf("audience of the broken campaign: exit %d, %q; want its problem and a failure", code, errOut)
	}
	code, out, _ := cli(t, append(flags, "validate")...)
	if code != 1 || !strings.Contains(out, broken+":4:11: ") {
		t.Errorf("validate: exit %d, %q; want 1 with the problem", code, out)
	}
}
