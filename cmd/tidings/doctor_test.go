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
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
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

// TestDoctorDatabase runs `tidings doctor database` with the test read
// replica: it passes with the lag; with replay paused it fails with the
// fix; with a replica that does not answer it fails, and exit code is 1.
func TestDoctorDatabase(t *testing.T) {
	_, url := storetest.OpenURL(t, store.Postgres)
	readURL := storetest.ReplicaURL(t, url)
	rep := storetest.OpenReplica(t, url, readURL)
	rep.CatchUp()
	doctor := func(read string) (int, string) {
		code, out, _ := cli(t, "--database-url", url, "--database-read-url", read, "doctor", "database")
		return code, out
	}
	if code, out := doctor(readURL); code != 0 || !strings.Contains(out, "PASS  read replica") ||
		!strings.Contains(out, "standby, lag ") {
		t.Fatalf("exit %d, want 0 and the replica's lag:\n%s", code, out)
	}
	rep.Pause()
	if code, out := doctor(readURL); code != 1 || !strings.Contains(out, "replay is paused") ||
		!strings.Contains(out, "pg_wal_replay_resume()") {
		t.Fatalf("paused replica: exit %d, want 1 and the fix:\n%s", code, out)
	}
	rep.Resume()
	if code, out := doctor("postgres://root@127.0.0.1:1/test?sslmode=disable"); code != 1 ||
		!strings.Contains(out, "FAIL  read replica postgres://root@127.0.0.1:1/test") {
		t.Fatalf("unreachable replica: exit %d, want 1:\n%s", code, out)
	}
	// A primary named as the replica is not a standby.
	if code, out := doctor(url); code != 1 || !strings.Contains(out, "is not a standby") {
		t.Fatalf("primary as replica: exit %d, want 1:\n%s", code, out)
	}
}

// TestReadURLNeedsPostgres refuses a read replica beside a SQLite database
// or under another scheme, naming the variable.
func TestReadURLNeedsPostgres(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--database-url", "sqlite:" + filepath.Join(t.TempDir(), "t.db"), "--database-read-url", "postgres://replica/db"},
		{"--database-read-url", "mysql://replica/db"},
	} {
		code, _, errOut := cli(t, append(args, "doctor", "database")...)
		if code == 0 || !strings.Contains(errOut, "TIDINGS_DATABASE_READ_URL") {
			t.Errorf("%v: exit %d, stderr %q; want a refusal naming TIDINGS_DATABASE_READ_URL", args, code, errOut)
		}
	}
}
