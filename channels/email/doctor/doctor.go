// Package doctor checks what mailbox providers check of a sender before
// they trust its mail: the SPF, DKIM and DMARC records of the From domain,
// the one-click unsubscribe headers of a campaign message (RFC 8058, asked
// for by Gmail and Yahoo of bulk senders since 2024), and TLS to the relay.
// Each check is a pass or a failure with what to do about it; `tidings
// doctor email` prints them.
package doctor

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/channels/email"
)

// Resolver looks up TXT records; *net.Resolver is one.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Options says what to check.
type Options struct {
	// Domain is the From domain the records are looked up for.
	Domain string
	// ReturnPathDomain is the envelope sender's domain when it is not the
	// From domain (TIDINGS_RETURN_PATH): SPF is checked for it too.
	ReturnPathDomain string
	// DKIMSelector and DKIMKey are the configured signing key (nil: none);
	// the record must publish the key's public half.
	DKIMSelector string
	DKIMKey      crypto.Signer
	// Message is a composed campaign message (headers at least); nil skips
	// the unsubscribe check.
	Message []byte
	// Relay is the SMTP relay ("" skips the TLS check); its TLS is tried
	// as TLSMode says, verified with TLSConfig (nil: the system roots).
	Relay     string // host:port
	TLSMode   email.TLSMode
	TLSConfig *tls.Config
	Resolver  Resolver
	Timeout   time.Duration // per network step (default 10s)
}

// Check is one line of the report.
type Check struct {
	Name   string // SPF, DKIM, DMARC, one-click unsubscribe, TLS to the relay
	OK     bool
	Detail string // what was found
	Fix    string // what to do, when not OK
}

// Run does every check and returns them in order.
func Run(ctx context.Context, o Options) []Check {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	out := []Check{checkSPF(ctx, o, o.Domain)}
	if o.ReturnPathDomain != "" && !strings.EqualFold(o.ReturnPathDomain, o.Domain) {
		out = append(out, checkSPF(ctx, o, o.ReturnPathDomain))
	}
	out = append(out, checkDKIM(ctx, o), checkDMARC(ctx, o))
	if o.Message != nil {
		out = append(out, checkUnsubscribe(o.Message))
	}
	if o.Relay != "" {
		out = append(out, checkTLS(ctx, o))
	}
	return out
}

// txt returns the TXT records of name that start with prefix (case
// insensitive); a name without records is no error.
func txt(ctx context.Context, o Options, name, prefix string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	recs, err := o.Resolver.LookupTXT(ctx, name)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(r)), prefix) {
			out = append(out, strings.TrimSpace(r))
		}
	}
	return out, nil
}

func checkSPF(ctx context.Context, o Options, domain string) Check {
	c := Check{Name: "SPF " + domain}
	recs, err := txt(ctx, o, domain, "v=spf1")
	switch {
	case err != nil:
		c.Detail, c.Fix = "lookup failed: "+err.Error(), "check the domain's DNS answers TXT queries"
	case len(recs) == 0:
		c.Detail = "no v=spf1 TXT record"
		c.Fix = fmt.Sprintf(`publish a TXT record on %s such as "v=spf1 include:<your relay's SPF domain> ~all" (your relay's documentation names it)`, domain)
	case len(recs) > 1:
		c.Detail = fmt.Sprintf("%d v=spf1 records: receivers treat that as a permanent error", len(recs))
		c.Fix = "merge them into one record"
	case strings.Contains(" "+strings.ToLower(recs[0])+" ", " +all ") || strings.HasSuffix(strings.ToLower(recs[0]), " all"):
		c.Detail = recs[0]
		c.Fix = "end the record with ~all or -all: +all lets anyone send as the domain"
	default:
		c.OK, c.Detail = true, recs[0]
	}
	return c
}

func checkDKIM(ctx context.Context, o Options) Check {
	c := Check{Name: "DKIM"}
	if o.DKIMSelector == "" {
		c.Detail = "no DKIM key configured: messages are not signed"
		c.Fix = "set TIDINGS_DKIM_KEY_FILE and TIDINGS_DKIM_SELECTOR (docs/deliverability.md#dkim), or have the relay sign for " + o.Domain
		return c
	}
	name := o.DKIMSelector + "._domainkey." + o.Domain
	c.Name = "DKIM " + name
	recs, err := o.Resolver.LookupTXT(ctx, name)
	var dnsErr *net.DNSError
	if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
		c.Detail, c.Fix = "lookup failed: "+err.Error(), "check the domain's DNS answers TXT queries"
		return c
	}
	rec := strings.Join(recs, "")
	p, ok := tag(rec, "p")
	want := ""
	if o.DKIMKey != nil {
		if r, err := email.DKIMRecord(o.DKIMKey); err == nil {
			want, _ = tag(r, "p")
		}
	}
	switch {
	case !ok || p == "":
		c.Detail = "no key published (no p= in a TXT record)"
		c.Fix = fmt.Sprintf("publish the TXT record %s with the key's public half: %s", name, recordHint(o.DKIMKey))
	case want != "" && strings.ReplaceAll(p, " ", "") != want:
		c.Detail = "the published key is not the configured one"
		c.Fix = fmt.Sprintf("publish %s (or set TIDINGS_DKIM_KEY_FILE to the key the record publishes)", recordHint(o.DKIMKey))
	default:
		c.OK, c.Detail = true, "key published"
		if k, ok := tag(rec, "k"); ok {
			c.Detail += " (k=" + k + ")"
		}
	}
	return c
}

// recordHint is the TXT record value for key, or a pointer to the docs.
func recordHint(key crypto.Signer) string {
	if key != nil {
		if r, err := email.DKIMRecord(key); err == nil {
			return `"` + r + `"`
		}
	}
	return `"v=DKIM1; k=rsa; p=<base64 public key>"`
}

func checkDMARC(ctx context.Context, o Options) Check {
	c := Check{Name: "DMARC _dmarc." + o.Domain}
	recs, err := txt(ctx, o, "_dmarc."+o.Domain, "v=dmarc1")
	switch {
	case err != nil:
		c.Detail, c.Fix = "lookup failed: "+err.Error(), "check the domain's DNS answers TXT queries"
	case len(recs) != 1:
		c.Detail = "no v=DMARC1 record"
		if len(recs) > 1 {
			c.Detail = fmt.Sprintf("%d v=DMARC1 records: receivers ignore them all", len(recs))
		}
		c.Fix = fmt.Sprintf(`publish one TXT record _dmarc.%s such as "v=DMARC1; p=none; rua=mailto:dmarc@%s" (Gmail and Yahoo require one of bulk senders), then tighten p= to quarantine or reject`, o.Domain, o.Domain)
	default:
		p, _ := tag(recs[0], "p")
		switch strings.ToLower(p) {
		case "none", "quarantine", "reject":
			c.OK, c.Detail = true, recs[0]
		default:
			c.Detail, c.Fix = recs[0], "set p= to none, quarantine or reject"
		}
	}
	return c
}

// tag returns the value of a tag=value; list (DKIM and DMARC records).
func tag(rec, name string) (string, bool) {
	for _, kv := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func checkUnsubscribe(raw []byte) Check {
	c := Check{Name: "one-click unsubscribe"}
	if !bytes.Contains(raw, []byte("\r\n\r\n")) && !bytes.Contains(raw, []byte("\n\n")) {
		raw = append(append([]byte(nil), raw...), "\r\n\r\n"...)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		c.Detail, c.Fix = "the campaign message does not parse: "+err.Error(), "report this as a bug"
		return c
	}
	lu, post := msg.Header.Get("List-Unsubscribe"), msg.Header.Get("List-Unsubscribe-Post")
	switch {
	case !strings.Contains(lu, "<https://"):
		c.Detail = "List-Unsubscribe has no https link: " + orNone(lu)
		c.Fix = "set TIDINGS_PUBLIC_URL to the https address Tidings is served at: the one-click link is built on it"
	case post != "List-Unsubscribe=One-Click":
		c.Detail = "List-Unsubscribe-Post is " + orNone(post)
		c.Fix = "set TIDINGS_PUBLIC_URL to an https address: the one-click header is sent only with an https link"
	default:
		c.OK, c.Detail = true, "List-Unsubscribe with an https link and List-Unsubscribe-Post: List-Unsubscribe=One-Click"
	}
	return c
}

func orNone(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}
