package feedback

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1 is SHA1withRSA
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// SESOptions configures the Amazon SES receiver (SNS notifications).
type SESOptions struct {
	Enabled bool
	// TopicARNs, when set, are the only SNS topics accepted (a signed
	// message from another AWS account's topic is refused).
	TopicARNs []string
	// Client fetches signing certificates and confirms subscriptions
	// (default: a client with a 10 s timeout).
	Client *http.Client
	// CertHost says whether a host may serve SNS signing certificates and
	// subscription URLs; default: sns.<region>.amazonaws.com (and .com.cn).
	// Tests replace it to trust their own TLS server.
	CertHost func(host string) bool
}

// snsHost is the host of SNS's own endpoints.
var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// snsTolerance is how old an SNS message may be: SNS retries a failed
// delivery for up to an hour under the longest retry policy; an older copy
// is a replay.
const snsTolerance = time.Hour

// snsMessage is the envelope SNS posts (Notification, SubscriptionConfirmation
// or UnsubscribeConfirmation).
type snsMessage struct {
	Type             string
	MessageID        string `json:"MessageId"`
	Token            string
	TopicArn         string
	Subject          string
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	SubscribeURL     string
}

// snsVerifier checks SNS signatures with certificates it fetched from SNS.
type snsVerifier struct {
	opts   SESOptions
	now    func() time.Time
	mu     sync.Mutex
	certs  map[string]*x509.Certificate // by URL
	topics map[string]bool
}

func newSNS(opts SESOptions, now func() time.Time) (*snsVerifier, error) {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.CertHost == nil {
		opts.CertHost = snsHost.MatchString
	}
	v := &snsVerifier{opts: opts, now: now, certs: map[string]*x509.Certificate{}}
	if len(opts.TopicARNs) > 0 {
		v.topics = map[string]bool{}
		for _, t := range opts.TopicARNs {
			if !strings.HasPrefix(t, "arn:") {
				return nil, fmt.Errorf("feedback: SES topic %q is not an ARN (arn:aws:sns:region:account:name)", t)
			}
			v.topics[t] = true
		}
	}
	return v, nil
}

// errSNS is a refused SNS message: a bad signature, a stale message, an
// untrusted certificate URL or topic.
var errSNS = errors.New("SNS message refused")

// verify checks m's signature, age and topic.
func (v *snsVerifier) verify(ctx context.Context, m *snsMessage) error {
	if v.topics != nil && !v.topics[m.TopicArn] {
		return fmt.Errorf("%w: topic %s is not one of TIDINGS_SES_TOPICS", errSNS, m.TopicArn)
	}
	at, err := time.Parse(time.RFC3339, m.Timestamp)
	if err != nil {
		return fmt.Errorf("%w: Timestamp %q is not RFC 3339", errSNS, m.Timestamp)
	}
	if age := v.now().Sub(at); age > snsTolerance || age < -5*time.Minute {
		return fmt.Errorf("%w: Timestamp %s is outside the hour a delivery is retried in (a replay)", errSNS, m.Timestamp)
	}
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return fmt.Errorf("%w: SignatureVersion %q (want 1 or 2)", errSNS, m.SignatureVersion)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return fmt.Errorf("%w: Signature is not base64", errSNS)
	}
	cert, err := v.cert(ctx, m.SigningCertURL)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: the signing certificate's key is not RSA", errSNS)
	}
	text := snsSigningText(m)
	var sum []byte
	if hash == crypto.SHA1 {
		s := sha1.Sum(text) //nolint:gosec // as SNS signs
		sum = s[:]
	} else {
		s := sha256.Sum256(text)
		sum = s[:]
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, sum, sig); err != nil {
		return fmt.Errorf("%w: bad signature", errSNS)
	}
	return nil
}

// snsSigningText is the string SNS signs: chosen fields as name\nvalue\n,
// in byte order of their names (Subject only when present).
func snsSigningText(m *snsMessage) []byte {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == "Notification" {
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
		return []byte(b.String())
	}
	add("SubscribeURL", m.SubscribeURL)
	add("Timestamp", m.Timestamp)
	add("Token", m.Token)
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return []byte(b.String())
}

// trustedURL checks that raw is an https URL on an SNS host.
func (v *snsVerifier) trustedURL(raw, what string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !v.opts.CertHost(u.Hostname()) {
		return nil, fmt.Errorf("%w: %s %q is not an https URL on an sns.<region>.amazonaws.com host", errSNS, what, raw)
	}
	return u, nil
}

// cert returns the certificate at raw, fetched once and kept.
func (v *snsVerifier) cert(ctx context.Context, raw string) (*x509.Certificate, error) {
	u, err := v.trustedURL(raw, "SigningCertURL")
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, ".pem") {
		return nil, fmt.Errorf("%w: SigningCertURL %q is not a .pem file", errSNS, raw)
	}
	v.mu.Lock()
	c := v.certs[u.String()]
	v.mu.Unlock()
	if c != nil {
		return c, nil
	}
	body, err := v.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("feedback: fetch SNS signing certificate: %w", err)
	}
	block, _ := pem.Decode(body)
	if block == nil {
		return nil, fmt.Errorf("%w: the signing certificate is not PEM", errSNS)
	}
	if c, err = x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("%w: signing certificate: %v", errSNS, err)
	}
	v.mu.Lock()
	v.certs[u.String()] = c
	v.mu.Unlock()
	return c, nil
}

func (v *snsVerifier) get(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := v.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", u.Host, resp.Status)
	}
	return body, nil
}

// confirm visits a verified SubscriptionConfirmation's SubscribeURL, which
// subscribes the endpoint to the topic.
func (v *snsVerifier) confirm(ctx context.Context, m *snsMessage) error {
	u, err := v.trustedURL(m.SubscribeURL, "SubscribeURL")
	if err != nil {
		return err
	}
	if _, err := v.get(ctx, u); err != nil {
		return fmt.Errorf("feedback: confirm SNS subscription: %w", err)
	}
	return nil
}
