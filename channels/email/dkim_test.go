package email_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/smtptest"
)

// TestDKIMSignatureVerifies sends through the real SMTP test server with a
// DKIM key of each kind and verifies what the server received against the
// published public key, as a receiver would; an altered message fails.
func TestDKIMSignatureVerifies(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"rsa": rsaKey, "ed25519": edKey} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The key goes through its PEM file form, as TIDINGS_DKIM_KEY_FILE.
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := email.ParseDKIMKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			if err != nil {
				t.Fatal(err)
			}
			record, err := email.DKIMRecord(loaded)
			if err != nil {
				t.Fatal(err)
			}
			srv := smtptest.Start(t)
			s := newSender(t, srv, 1, func(c *email.Config) {
				c.DKIM = &email.DKIM{Selector: "tidings2026", Key: loaded}
			})
			for i := int64(1); i <= 2; i++ { // the second over the reused (pipelined) session
				if _, err := s.Send(context.Background(), testMessage(i, "ann@example.com")); err != nil {
					t.Fatal(err)
				}
			}
			lookups := 0
			opts := &dkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
				lookups++
				if domain != "tidings2026._domainkey.shop.example" {
					return nil, errors.New("no such record: " + domain)
				}
				return []string{record}, nil
			}}
			for _, m := range srv.WaitMessages(t, 2, 5*time.Second) {
				vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), opts)
				if err != nil || len(vs) != 1 {
					t.Fatalf("verify: %v, %d signatures", err, len(vs))
				}
				if vs[0].Err != nil || vs[0].Domain != "shop.example" {
					t.Fatalf("signature of %s: %v (domain %q)\n%s", m.MessageID(), vs[0].Err, vs[0].Domain, m.Data)
				}
				for _, h := range []string{"List-Unsubscribe", "List-Unsubscribe-Post", "Subject", "From"} {
					if !containsFold(vs[0].HeaderKeys, h) {
						t.Errorf("%s not signed (signed: %v)", h, vs[0].HeaderKeys)
					}
				}
				altered := bytes.Replace(m.Data, []byte("BDAY10"), []byte("BDAY90"), 1)
				vs, err = dkim.VerifyWithOptions(bytes.NewReader(altered), opts)
				if err != nil || len(vs) != 1 || vs[0].Err == nil {
					t.Fatalf("an altered body verified: %v %+v", err, vs)
				}
			}
			if lookups != 4 {
				t.Errorf("%d key lookups, want 4", lookups)
			}
		})
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// TestParseDKIMKeyRefusesBadKeys: what is not a usable key says what to
// write instead.
func TestParseDKIMKeyRefusesBadKeys(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		pem  []byte
		want string
	}{
		{"not PEM", []byte("hello"), "no PEM block"},
		{"public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), "want PRIVATE KEY"},
		{"not a key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "asn1"},
	} {
		if _, err := email.ParseDKIMKey(c.pem); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
