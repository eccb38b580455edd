package unsubscribe_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/web/unsubscribe"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	s := unsubscribe.Signer{Key: testKey}
	for _, sub := range []unsubscribe.Subject{
		{DeliveryID: 1, CustomerID: 42, Channel: "email", Campaign: "win-back-90d"},
		{DeliveryID: 9_876_543_210, CustomerID: 123_456, Channel: "sms", Campaign: "birthday-greeting"},
		{},
		{DeliveryID: math.MaxInt64, CustomerID: math.MinInt64, Channel: "email", Campaign: strings.Repeat("x", 300)},
	} {
		tok := s.Sign(sub)
		got, err := s.Verify(tok)
		if err != nil || got != sub {
			t.Fatalf("Verify(Sign(%+v)) = %+v, %v", sub, got, err)
		}
		for _, c := range tok {
			if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", c) {
				t.Fatalf("token %q has a character that is not URL safe: %q", tok, c)
			}
		}
	}
	typical := s.Sign(unsubscribe.Subject{DeliveryID: 1_234_567, CustomerID: 23_570, Channel: "email", Campaign: "weekly-newsletter"})
	if len(typical) > 80 {
		t.Fatalf("typical token is %d characters, want compact (<= 80): %s", len(typical), typical)
	}
}

func TestTokenTamperRejected(t *testing.T) {
	t.Parallel()
	s := unsubscribe.Signer{Key: testKey}
	tok := s.Sign(unsubscribe.Subject{DeliveryID: 5, CustomerID: 77, Channel: "email", Campaign: "spring-sale"})
	for i := range len(tok) {
		for _, c := range []byte{'A', 'b', '9', '_'} {
			if tok[i] == c {
				continue
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			if _, err := s.Verify(bad); !errors.Is(err, unsubscribe.ErrInvalidToken) {
				t.Fatalf("Verify accepted a token changed at %d (%q): err = %v", i, bad, err)
			}
		}
	}
	other := unsubscribe.Signer{Key: []byte("another-key-of-32-bytes-........")}
	for name, bad := range map[string]string{
		"other key":        other.Sign(unsubscribe.Subject{DeliveryID: 5, CustomerID: 77, Channel: "email", Campaign: "spring-sale"}),
		"truncated":        tok[:len(tok)-3],
		"no signature":     strings.Split(tok, ".")[0],
		"empty":            "",
		"only a dot":       ".",
		"newline inside":   tok[:4] + "\n" + tok[4:],
		"padding":          tok + "==",
		"extra part":       tok + ".AAAA",
		"not base64":       "!!!!.@@@@",
		"swapped parts":    strings.Split(tok, ".")[1] + "." + strings.Split(tok, ".")[0],
		"very long":        strings.Repeat("A", 5000) + "." + strings.Split(tok, ".")[1],
		"unsigned payload": strings.Split(tok, ".")[0] + "." + strings.Repeat("A", 22),
	} {
		if _, err := s.Verify(bad); !errors.Is(err, unsubscribe.ErrInvalidToken) {
			t.Errorf("%s: Verify(%q) err = %v, want ErrInvalidToken", name, bad, err)
		}
	}
}

func TestSignerKeyCheck(t *testing.T) {
	t.Parallel()
	short := unsubscribe.Signer{Key: []byte("short")}
	if err := short.Check(); err == nil {
		t.Fatal("a 5-byte key passed Check")
	}
	if _, err := short.Verify(short.Sign(unsubscribe.Subject{CustomerID: 1})); err == nil {
		t.Fatal("Verify with a short key succeeded")
	}
	if err := (unsubscribe.Signer{Key: testKey}).Check(); err != nil {
		t.Fatalf("32-byte key: %v", err)
	}
}

func TestSignerURL(t *testing.T) {
	t.Parallel()
	s := unsubscribe.Signer{Key: testKey}
	sub := unsubscribe.Subject{DeliveryID: 3, CustomerID: 4, Channel: "email", Campaign: "x"}
	for _, base := range []string{"https://news.example.com", "https://news.example.com/"} {
		got := s.URL(base, sub)
		if want := "https://news.example.com/u/" + s.Sign(sub); got != want {
			t.Fatalf("URL(%q) = %q, want %q", base, got, want)
		}
	}
}

func ExampleSigner() {
	s := unsubscribe.Signer{Key: []byte("a secret of at least 16 bytes")}
	link := s.URL("https://news.example.com", unsubscribe.Subject{
		DeliveryID: 1001, CustomerID: 42, Channel: "email", Campaign: "win-back-90d",
	})
	token := link[strings.LastIndex(link, "/")+1:]
	sub, err := s.Verify(token)
	fmt.Println(strings.HasPrefix(link, "https://news.example.com/u/"), sub.CustomerID, sub.Campaign, err)
	// Output: true 42 win-back-90d <nil>
}

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, must
// reject what it did not sign, and anything it accepts must be exactly the
// token Sign makes for the subject it returns.
func FuzzVerify(f *testing.F) {
	s := unsubscribe.Signer{Key: testKey}
	f.Add(s.Sign(unsubscribe.Subject{DeliveryID: 1, CustomerID: 2, Channel: "email", Campaign: "c"}))
	f.Add(s.Sign(unsubscribe.Subject{DeliveryID: -1, CustomerID: 1 << 40, Channel: "sms", Campaign: ""}))
	f.Add("")
	f.Add(".")
	f.Add("AQID.AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("AQIEBWVtYWlsAWM")
	f.Fuzz(func(t *testing.T, token string) {
		sub, err := s.Verify(token)
		if err != nil {
			if !errors.Is(err, unsubscribe.ErrInvalidToken) {
				t.Fatalf("Verify(%q) error %v does not wrap ErrInvalidToken", token, err)
			}
			return
		}
		if again := s.Sign(sub); again != token {
			t.Fatalf("Verify accepted %q as %+v, but Sign gives %q", token, sub, again)
		}
	})
}
