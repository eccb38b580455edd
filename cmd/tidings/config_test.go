package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestConfigErrorsHideThePassword gives URLs with a password that do not
// parse or are refused (an unescaped "/" or "#", no scheme, a bad port or
// TLS mode, a wrong scheme) and checks the start-up error names the variable
// and prints no part of the password.
func TestConfigErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	cases := []struct{ flag, url, env string }{
		{"--smtp-url", "smtp://mailer:s3cr/et-pw@relay.example:587", "TIDINGS_SMTP_URL"},
		{"--smtp-url", "smtp://mailer:s3cr#et-pw@relay.example:587", "TIDINGS_SMTP_URL"},
		{"--smtp-url", "smtp://mailer:s3cr?et-pw@relay.example:587", "TIDINGS_SMTP_URL"},
		{"--smtp-url", "mailer:s3cret-pw@relay.example:587", "TIDINGS_SMTP_URL"},
		{"--smtp-url", "smtp://mailer:s3cret-pw@relay.example:5x7", "TIDINGS_SMTP_URL"},
		{"--smtp-url", "smtp://mailer:s3cret-pw@relay.example?tls=maybe", "TIDINGS_SMTP_URL"},
		{"--smtp-url", "http://mailer:s3cret-pw@relay.example", "TIDINGS_SMTP_URL"},
		{"--redis-url", "redis://:s3cr/et-pw@cache.example:6379/0", "TIDINGS_REDIS_URL"},
		{"--database-url", "mysql://app:s3cr/et-pw@db.example/shop", "TIDINGS_DATABASE_URL"},
	}
	for _, c := range cases {
		code, out, errOut := cli(t, c.flag, c.url, "validate", "../../examples/campaigns")
		if code != 1 || !strings.Contains(errOut, c.env) {
			t.Errorf("%s %s: exit %d, stderr %q; want exit 1 naming %s", c.flag, c.url, code, errOut, c.env)
		}
		for _, part := range []string{"s3cr", "et-pw"} {
			if strings.Contains(out+errOut, part) {
				t.Errorf("%s %s: the output shows the password (%q):\n%s%s", c.flag, c.url, part, out, errOut)
			}
		}
	}
}

// loadConfig loads a Config from command-line flags only.
func loadConfig(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	var c Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.bindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &c, c.load(fs, "")
}

// TestSMTPPoolAboveConcurrencyIsClampedAndSaid: a pool larger than the
// worker goroutines could never be used; the process keeps as many
// connections as it has goroutines and says so at start. A pool within the
// concurrency, or no SMTP relay, says nothing.
func TestSMTPPoolAboveConcurrencyIsClampedAndSaid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args     []string
		pool     int
		warnings bool
	}{
		{[]string{"--smtp-url", "smtp://relay.example", "--smtp-pool", "16", "--concurrency", "4"}, 4, true},
		{[]string{"--smtp-url", "smtp://relay.example", "--smtp-pool", "4", "--concurrency", "8"}, 4, false},
		{[]string{"--smtp-url", "smtp://relay.example", "--smtp-pool", "8", "--concurrency", "8"}, 8, false},
		{[]string{"--smtp-pool", "16", "--concurrency", "4"}, 4, false}, // outbox: no connections at all
	}
	for _, c := range cases {
		cfg, err := loadConfig(t, append(c.args, "--public-url", "https://tidings.example")...)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		warnings := strings.Join(cfg.startWarnings(), "\n")
		said := strings.Contains(warnings, "TIDINGS_SMTP_POOL is 16 but TIDINGS_CONCURRENCY is 4") &&
			strings.Contains(warnings, "so it keeps 4")
		if cfg.smtpPool() != c.pool || said != c.warnings || (!c.warnings && warnings != "") {
			t.Errorf("%v: pool %d, warnings %q; want pool %d, warned %v", c.args, cfg.smtpPool(), warnings, c.pool, c.warnings)
		}
	}
}

// TestPublicURLWithoutHTTPSIsWarned: with an http public URL the one-click
// unsubscribe header is left out of every email (email.Compose), and the
// sending processes say so at start.
func TestPublicURLWithoutHTTPSIsWarned(t *testing.T) {
	t.Parallel()
	for url, warned := range map[string]bool{
		"http://127.0.0.1:8080":           true,
		"http://tidings.shop.example":     true,
		"https://tidings.shop.example":    false,
		"https://tidings.shop.example/tx": false,
	} {
		cfg, err := loadConfig(t, "--public-url", url)
		if err != nil {
			t.Fatal(err)
		}
		w := strings.Join(cfg.startWarnings(), "\n")
		got := strings.Contains(w, "TIDINGS_PUBLIC_URL "+url+" is not https") && strings.Contains(w, "List-Unsubscribe-Post")
		if got != warned || (!warned && w != "") {
			t.Errorf("public URL %s: warnings %q, want warned=%v", url, w, warned)
		}
	}
}

// TestBounceMailboxAndDKIMSettings: the bounce mailbox URL's password never
// shows in its error, and the DKIM key and selector come as a pair, the key
// read at start.
func TestBounceMailboxAndDKIMSettings(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(t, "--bounce-imap-url", "pop3://bounces:s3cret-pw@imap.example/INBOX")
	if err == nil || !strings.Contains(err.Error(), "TIDINGS_BOUNCE_IMAP_URL") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("pop3 mailbox: %v", err)
	}
	if _, err := loadConfig(t, "--bounce-imap-url", "imaps://bounces:s3cret-pw@imap.example/INBOX", "--bounce-interval", "1s"); err == nil ||
		!strings.Contains(err.Error(), "TIDINGS_BOUNCE_INTERVAL") {
		t.Errorf("1s interval: %v", err)
	}
	if _, err := loadConfig(t, "--dkim-selector", "tidings2026"); err == nil || !strings.Contains(err.Error(), "TIDINGS_DKIM_KEY_FILE") {
		t.Errorf("selector without key: %v", err)
	}
	path, _ := writeDKIMKey(t)
	c, err := loadConfig(t, "--dkim-key-file", path, "--dkim-selector", "tidings2026")
	if err != nil || c.Feedback.dkim == nil || c.Feedback.dkim.Selector != "tidings2026" {
		t.Fatalf("key and selector: %v %+v", err, c)
	}
}
