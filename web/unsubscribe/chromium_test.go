package unsubscribe_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// harness is a page of the same origin as the preference page that frames
// it and acts as the customer would: untick the newsletter, press Save,
// then write what the page answered into its own DOM, which
// `chromium --dump-dom` prints. The preference page itself runs no script:
// Chromium submits its form.
const harness = `<!doctype html><html><body><iframe id="f" src="%s"></iframe><pre id="out">waiting</pre>
<script>
let step = 0;
const f = document.getElementById('f');
f.addEventListener('load', () => {
  const d = f.contentDocument;
  if (step === 0) {
    step = 1;
    d.querySelector('input[value=newsletter]').click();
    d.getElementById('save').click();
    return;
  }
  const boxes = [...d.querySelectorAll('input[type=checkbox]')].map(b => b.value + '=' + b.checked).join(',');
  document.getElementById('out').textContent = (d.getElementById('saved') ? 'SAVED ' : 'NOT SAVED ') + boxes;
});
</script></body></html>`

// TestPreferencePageInChromium loads the preference page in headless
// Chromium, unticks a topic, submits the form, and reads the opt-out in
// the database (SQLite: the browser, not the dialect, is under test here).
func TestPreferencePageInChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	b, id, link := prefsSetup(t, storetest.Dialects()[0])
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	_, page := b.get(t, link)
	if strings.Contains(page, "<script") {
		t.Fatal("the preference page must work without JavaScript, and holds a script")
	}
	// The harness is served beside the handler, on the same origin.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /harness", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, harness, u.Path)
	})
	mux.Handle("/", b.srv.Config.Handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	dom, err := runChromium(chromium, t.TempDir(), []string{"--dump-dom", "--virtual-time-budget=30000", srv.URL + "/harness"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, "SAVED newsletter=false,offers=true") {
		t.Fatalf("Chromium did not save the form:\n%s", dom)
	}
	left, err := b.st.TopicOptOuts(context.Background(), id)
	if err != nil || !slices.Equal(left, []string{"newsletter"}) {
		t.Fatalf("opt-outs after the browser's save = %v, %v; want [newsletter]", left, err)
	}
	hist, _ := b.st.ConsentHistory(context.Background(), id)
	if len(hist) != 1 || hist[0].Source != store.ConsentPreferences {
		t.Fatalf("history = %+v", hist)
	}
}

// chromiumPath finds headless Chromium (scripts/test-services.sh installs
// Debian's chromium when it can), or skips saying why and how to get it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TIDINGS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("headless Chromium was not found and could not be installed: run scripts/test-services.sh as root " +
		"(it installs Debian's chromium), apt-get install -y chromium, or set TIDINGS_CHROMIUM to its path")
	return ""
}

// runChromium runs headless Chromium with a fresh profile and returns its
// standard output (the DOM for --dump-dom), ending its whole process group
// on timeout.
func runChromium(chromium, profile string, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, chromium, all...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, errOut.String())
	}
	return out.String(), nil
}
