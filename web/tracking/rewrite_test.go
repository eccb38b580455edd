package tracking_test

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/web/tracking"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

// TestRewrite: every http(s) link of the HTML part becomes a signed
// redirect to exactly the link as written (entities decoded), in order;
// the unsubscribe and preference links, mailto:, tel: and anchors stay;
// the honeypot and the pixel go before </body>; the rest is unchanged.
func TestRewrite(t *testing.T) {
	t.Parallel()
	base := "https://news.example.com"
	unsub := base + "/u/abc.def"
	src := `<html><BODY><p class="x">Hi <a href="https://shop.example/a?x=1&amp;y=2#top" class="btn">shop</a>,
<a href='http://blog.example/post'>blog</a> <a href="mailto:help@example.com">mail</a> <a href="tel:+15550100">call</a>
<a href="#top">top</a> <a name="anchor">no href</a> <a href="` + unsub + `">unsubscribe</a>
<a href="` + base + `/u/other/preferences">preferences</a></p><script>var a = "<a href='https://x.example/'>";</script></BODY></html>`
	tokens := tracking.Tokens{Signer: unsubscribe.Signer{Key: testKey}}
	rw := tracking.Rewriter{Tokens: tokens, Base: base}
	sent := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m := tracking.Message{DeliveryID: 7, CustomerID: 42, Campaign: "news", SentAt: sent, UnsubscribeURL: unsub}

	if got := rw.Rewrite(src, m, campaigns.Tracking{}); got != src {
		t.Errorf("tracking off changed the HTML:\n%s", got)
	}
	out := rw.Rewrite(src, m, campaigns.Tracking{Opens: true, Clicks: true})
	hrefs := regexp.MustCompile(`href="`+regexp.QuoteMeta(base)+`/c/([A-Za-z0-9_.-]+)"`).FindAllStringSubmatch(out, -1)
	want := []string{"https://shop.example/a?x=1&y=2#top", "http://blog.example/post", ""}
	if len(hrefs) != len(want) {
		t.Fatalf("%d tracked links, want %d (two links and the honeypot):\n%s", len(hrefs), len(want), out)
	}
	for i, h := range hrefs {
		l, err := tokens.Verify(h[1])
		if err != nil {
			t.Fatal(err)
		}
		if l.URL != want[i] || l.DeliveryID != 7 || l.CustomerID != 42 || l.Campaign != "news" || !l.SentAt.Equal(sent) {
			t.Errorf("link %d: %+v, want %q", i, l, want[i])
		}
		if i < 2 && (l.Kind != tracking.KindClick || l.Index != i) {
			t.Errorf("link %d: kind %d index %d", i, l.Kind, l.Index)
		}
		if i == 2 && l.Kind != tracking.KindHoneypot {
			t.Errorf("the last tracked link is not the honeypot: %+v", l)
		}
	}
	for _, kept := range []string{`class="btn"`, `href="mailto:help@example.com"`, `href="tel:+15550100"`, `href="#top"`,
		`<a name="anchor">`, `href="` + unsub + `"`, `href="` + base + `/u/other/preferences"`, `<BODY>`,
		`<script>var a = "<a href='https://x.example/'>";</script>`} {
		if !strings.Contains(out, kept) {
			t.Errorf("output lost %s:\n%s", kept, out)
		}
	}
	pixel := regexp.MustCompile(`<img src="` + regexp.QuoteMeta(base) + `/o/([A-Za-z0-9_.-]+)" width="1" height="1"`).FindStringSubmatch(out)
	if pixel == nil {
		t.Fatalf("no pixel:\n%s", out)
	}
	if l, err := tokens.Verify(pixel[1]); err != nil || l.Kind != tracking.KindOpen || l.DeliveryID != 7 {
		t.Errorf("pixel token: %+v %v", l, err)
	}
	if !strings.HasSuffix(out, `border:0"></BODY></html>`) {
		t.Errorf("pixel not before </body>:\n%s", out)
	}
	opensOnly := rw.Rewrite(src, m, campaigns.Tracking{Opens: true})
	if strings.Contains(opensOnly, "/c/") || !strings.Contains(opensOnly, "/o/") {
		t.Errorf("opens only: links rewritten or no pixel:\n%s", opensOnly)
	}
	if got := rw.Rewrite("<p>no body</p>", m, campaigns.Tracking{Opens: true}); !strings.HasPrefix(got, "<p>no body</p><img ") {
		t.Errorf("without </body> the pixel goes at the end: %s", got)
	}
}

// TestMachineRules: the embedded rules parse, and a broken line is an
// error naming its line.
func TestMachineRules(t *testing.T) {
	t.Parallel()
	m := tracking.DefaultMachines()
	if m.Match(tracking.KindOpen, "Mozilla/5.0", netipAddr("203.0.113.9")) == "" {
		t.Error("Apple's proxy agent is not a machine")
	}
	if m.Match(tracking.KindOpen, browser, netipAddr("17.58.1.2")) == "" {
		t.Error("Apple's network is not a machine")
	}
	if why := m.Match(tracking.KindOpen, browser, netipAddr("203.0.113.9")); why != "" {
		t.Errorf("a browser open is a machine's: %s", why)
	}
	if why := m.Match(tracking.KindClick, "Mozilla/5.0", netipAddr("17.58.1.2")); why != "" {
		t.Errorf("the open rules apply to clicks: %s", why)
	}
	for _, bad := range []string{"open agentt x", "opens agent x", "open network 17.0.0.0", `open agent "unterminated`, "open agent-has \"\""} {
		if _, err := tracking.ParseMachines("# rules\n" + bad + "\n"); err == nil || !strings.Contains(err.Error(), "machines.txt:2:") {
			t.Errorf("%q: %v, want an error at line 2", bad, err)
		}
	}
}

func netipAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
