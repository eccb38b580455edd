package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/channels/dnstest"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/smtptest"
)

// writeDKIMKey writes a new Ed25519 key as a PEM file, as
// TIDINGS_DKIM_KEY_FILE names one.
func writeDKIMKey(t *testing.T) (string, ed25519.PrivateKey) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, key
}

// TestDoctorEmail runs `tidings doctor email` against a DNS server holding
// the shop's records and a relay without STARTTLS: the records and the
// one-click headers of an example campaign pass, TLS fails with its fix,
// and the exit code is 1. With an http public URL the unsubscribe line
// fails too.
func TestDoctorEmail(t *testing.T) {
	t.Parallel()
	keyFile, key := writeDKIMKey(t)
	record, _ := email.DKIMRecord(key)
	dns := dnstest.Start(t, map[string][]string{
		"shop.example":                        {"v=spf1 include:_spf.relay.example ~all"},
		"tidings2026._domainkey.shop.example": {record},
		"_dmarc.shop.example":                 {"v=DMARC1; p=reject"},
	})
	relay := smtptest.Start(t)
	args := func(public string) []string {
		return []string{"--campaigns", "../../examples/campaigns", "--smtp-from", "Shop <news@shop.example>",
			"--smtp-url", "smtp://" + relay.Addr() + "?tls=none", "--public-url", public, "--signing-key", strings.Repeat("s", 32),
			"--dkim-key-file", keyFile, "--dkim-selector", "tidings2026", "doctor", "email", "--dns", dns.Addr()}
	}
	code, out, errOut := cli(t, args("https://tidings.shop.example")...)
	want := []string{
		"PASS  SPF shop.example: v=spf1 include:_spf.relay.example ~all",
		"PASS  DKIM tidings2026._domainkey.shop.example: key published (k=ed25519)",
		"PASS  DMARC _dmarc.shop.example: v=DMARC1; p=reject",
		"PASS  one-click unsubscribe:",
		"FAIL  TLS to the relay " + relay.Addr() + ": the relay offers no STARTTLS",
		"      fix: enable STARTTLS on the relay",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (a check failed)", code)
	}
	_, out, _ = cli(t, args("http://127.0.0.1:8080")...)
	if !strings.Contains(out, "FAIL  one-click unsubscribe") || !strings.Contains(out, "fix: set TIDINGS_PUBLIC_URL") {
		t.Errorf("http public URL:\n%s", out)
	}
}
