package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/webhook"
	"github.com/tidings-crm/tidings/stdwebhook"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a Slack-like endpoint that checks the signature and keeps the
// texts it accepted.
func receiver(t *testing.T, status *atomic.Int32) (*httptest.Server, *[]string) {
	t.Helper()
	v, err := stdwebhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if err := v.Verify(r.Header.Get(stdwebhook.HeaderID), r.Header.Get(stdwebhook.HeaderTimestamp),
			r.Header.Get(stdwebhook.HeaderSignature), raw); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if s := status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		var b struct{ Text string }
		if err := json.Unmarshal(raw, &b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, b.Text)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestSendPostsSignedJSONToAnAllowedHost(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	srv, got := receiver(t, &status)
	host := strings.TrimPrefix(srv.URL, "http://")
	s, err := webhook.New(webhook.Config{Hosts: []string{host}, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Send(context.Background(), &channels.Message{DeliveryID: 7, Campaign: "vip-alert", To: srv.URL + "/services/T1/B2",
		Text: "Ann spent 500 EUR"})
	if err != nil || res.ProviderID != webhook.MessageID(7) {
		t.Fatalf("Send = %+v, %v; want delivered as %s", res, err, webhook.MessageID(7))
	}
	if len(*got) != 1 || (*got)[0] != "Ann spent 500 EUR" {
		t.Errorf("receiver got %q", *got)
	}
	status.Store(http.StatusServiceUnavailable)
	if _, err := s.Send(context.Background(), &channels.Message{DeliveryID: 8, To: srv.URL, Text: "x"}); err == nil ||
		channels.IsPermanent(err) {
		t.Errorf("a 503 gave %v, want a transient error", err)
	}
	status.Store(http.StatusNotFound)
	if _, err := s.Send(context.Background(), &channels.Message{DeliveryID: 9, To: srv.URL, Text: "x"}); !channels.IsPermanent(err) {
		t.Errorf("a 404 gave %v, want a permanent error", err)
	}
}

// TestSendRefusesWhatIsNotListed: a URL built by a template pointing to
// another host, a listed name that resolves to a private address, and a
// redirect to another host are refused with an error that names the host
// and TIDINGS_WEBHOOK_HOSTS, and never the URL's path (a credential).
func TestSendRefusesWhatIsNotListed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer inside.Close()
	insideURL, _ := url.Parse(inside.URL)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://metadata.internal.example/latest", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	redirURL, _ := url.Parse(redirector.URL)

	s, err := webhook.New(webhook.Config{Hosts: []string{"hooks.slack.com", "localhost:" + insideURL.Port(), redirURL.Host}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ to, want string }{
		{"https://evil.example.com/T1/secret-path", `host "evil.example.com" (https) is not in TIDINGS_WEBHOOK_HOSTS`},
		{"https://hooks.slack.com.evil.example/x", `host "hooks.slack.com.evil.example"`},
		{"http://hooks.slack.com:8080/x", `host "hooks.slack.com"`},
		{"file:///etc/passwd", "not an absolute URL"},
		{"http://localhost:" + insideURL.Port() + "/secret-path", "resolves to the private address 127.0.0.1"},
		{redirector.URL + "/secret-path", `redirect to host "metadata.internal.example"`},
	} {
		_, err := s.Send(context.Background(), &channels.Message{DeliveryID: 1, To: c.to, Text: "x"})
		if err == nil || !channels.IsPermanent(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want a permanent error saying %q", c.to, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "secret-path") {
			t.Errorf("%s: the error shows the URL's path: %v", c.to, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the private server was reached %d times", n)
	}
	var se *channels.SendError
	_, err = s.Send(context.Background(), &channels.Message{To: "https://evil.example/x"})
	if !errors.As(err, &se) || se.Code != "host_not_allowed" {
		t.Errorf("code %+v, want host_not_allowed", se)
	}
}

func TestNewSaysWhatToFix(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  webhook.Config
		want string
	}{
		{webhook.Config{}, "TIDINGS_WEBHOOK_HOSTS"},
		{webhook.Config{Hosts: []string{"https://hooks.slack.com/x"}}, "is not a host"},
		{webhook.Config{Hosts: []string{"hooks.slack.com"}, Secret: "hunter2"}, "whsec_"},
	} {
		if _, err := webhook.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error saying %q", c.cfg, err, c.want)
		}
	}
}
