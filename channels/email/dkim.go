package email

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/wneessen/go-mail"
)

// DKIM signs each message for its domain (RFC 6376), so receivers can tell
// the mail really comes from the From domain; DMARC alignment and Gmail's
// and Yahoo's bulk-sender rules ask for it.
type DKIM struct {
	// Domain is the signing domain (d=); default: the domain of From.
	Domain string
	// Selector names the key (s=): its public half is the TXT record
	// <selector>._domainkey.<domain>.
	Selector string
	// Key is the private key: *rsa.PrivateKey (2048 bits or more) or
	// ed25519.PrivateKey.
	Key crypto.Signer
}

// dkimHeaders are the fields signed: the ones a receiver shows or acts on,
// the one-click unsubscribe pair among them (Gmail asks for both signed).
var dkimHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-Language", "List-Unsubscribe", "List-Unsubscribe-Post", HeaderCampaign}

// LoadDKIMKey reads a PEM private key file: PKCS #1 RSA ("RSA PRIVATE
// KEY") or PKCS #8 ("PRIVATE KEY") holding RSA or Ed25519.
func LoadDKIMKey(path string) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("email: DKIM key: %w", err)
	}
	key, err := ParseDKIMKey(raw)
	if err != nil {
		return nil, fmt.Errorf("email: DKIM key %s: %w", path, err)
	}
	return key, nil
}

// ParseDKIMKey reads a PEM private key (see LoadDKIMKey).
func ParseDKIMKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block: write the key as -----BEGIN PRIVATE KEY----- ... (openssl genpkey -algorithm ed25519, or -algorithm rsa -pkeyopt rsa_keygen_bits:2048)")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q: want PRIVATE KEY (PKCS #8) or RSA PRIVATE KEY (PKCS #1)", block.Type)
	}
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil // Go refuses keys under 1024 bits, as receivers do
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("a %T key: DKIM signs with RSA or Ed25519", key)
}

// DKIMRecord returns the TXT record value that publishes key's public half
// ("v=DKIM1; k=rsa; p=..."), for <selector>._domainkey.<domain>.
func DKIMRecord(key crypto.Signer) (string, error) {
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	}
	return "", fmt.Errorf("email: DKIM record: a %T key", key.Public())
}

// check validates d, taking the domain of from when none is set.
func (d *DKIM) check(from string) error {
	if d.Selector == "" || strings.ContainsAny(d.Selector, " ;=") {
		return fmt.Errorf("email: DKIM selector %q: name the key's TXT record, e.g. tidings2026 for tidings2026._domainkey.<domain>", d.Selector)
	}
	if d.Key == nil {
		return errors.New("email: DKIM: no key")
	}
	if d.Domain == "" {
		d.Domain = from[strings.LastIndexByte(from, '@')+1:]
	}
	return nil
}

// sign adds the DKIM-Signature of msg as it will be written. go-mail
// writes a message the same way twice (generic headers sorted, multipart
// boundaries kept from the first write), so the signature computed over
// one write holds for the one SMTP carries; the signature is a header
// written before the others, outside what it covers.
func (d *DKIM) sign(msg *mail.Msg) error {
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("email: DKIM: write message: %w", err)
	}
	s, err := dkim.NewSigner(&dkim.SignOptions{Domain: d.Domain, Selector: d.Selector, Signer: d.Key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: dkimHeaders})
	if err != nil {
		return fmt.Errorf("email: DKIM: %w", err)
	}
	if _, err := s.Write(buf.Bytes()); err != nil {
		_ = s.Close()
		return fmt.Errorf("email: DKIM: sign: %w", err)
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("email: DKIM: sign: %w", err)
	}
	name, value, _ := strings.Cut(strings.TrimRight(s.Signature(), "\r\n"), ":")
	msg.SetGenHeaderPreformatted(mail.Header(name), strings.TrimLeft(value, " "))
	return nil
}
