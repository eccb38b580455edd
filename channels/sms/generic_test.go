package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/sms"
)

// gateway is a generic JSON SMS gateway stand-in.
type gateway struct {
	mu     sync.Mutex
	got    []map[string]string
	status int
	body   string
	header map[string]string
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer gw-token" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"bad token"}`))
		return
	}
	var in map[string]string
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, v := range g.header {
		w.Header().Set(k, v)
	}
	if g.status != 0 {
		w.WriteHeader(g.status)
		_, _ = w.Write([]byte(g.body))
		return
	}
	g.got = append(g.got, in)
	_, _ = w.Write([]byte(`{"id":"gw-1"}`))
}

func TestGeneric(t *testing.T) {
	gw := &gateway{}
	hs := httptest.NewServer(gw)
	defer hs.Close()
	g, err := sms.NewGeneric(sms.GenericConfig{URL: hs.URL, Token: "gw-token", From: "Shop", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Send(context.Background(), smsMessage(77, "+447700900123", "Your order shipped"))
	if err != nil || res.ProviderID != "gw-1" || res.Segments != 1 {
		t.Fatalf("send: %+v, %v", res, err)
	}
	want := map[string]string{"to": "+447700900123", "from": "Shop", "text": "Your order shipped", "reference": "77"}
	if len(gw.got) != 1 || !equalMaps(gw.got[0], want) {
		t.Errorf("gateway got %v, want %v", gw.got, want)
	}

	cases := []struct {
		status    int
		body      string
		header    map[string]string
		permanent bool
		retry     time.Duration
	}{
		{status: 429, body: `{"error":"slow down"}`, header: map[string]string{"Retry-After": "2"}, retry: 2 * time.Second},
		{status: 502, body: `bad gateway`},
		{status: 400, body: `{"code":"invalid_number","message":"bad number +447700900123"}`, permanent: true},
		{status: 422, body: `{}`, permanent: true},
	}
	for _, c := range cases {
		gw.mu.Lock()
		gw.status, gw.body, gw.header = c.status, c.body, c.header
		gw.mu.Unlock()
		g, _ := sms.NewGeneric(sms.GenericConfig{URL: hs.URL, Token: "gw-token", From: "Shop"})
		_, err := g.Send(context.Background(), smsMessage(78, "+447700900123", "x"))
		var se *channels.SendError
		if !errors.As(err, &se) || se.Permanent != c.permanent || se.RetryAfter != c.retry {
			t.Errorf("%d: err = %v, want permanent=%v retry=%s", c.status, err, c.permanent, c.retry)
		}
		if err != nil && strings.Contains(err.Error(), "7700900123") {
			t.Errorf("%d: error leaks the number: %v", c.status, err)
		}
	}
	bad, _ := sms.NewGeneric(sms.GenericConfig{URL: hs.URL, Token: "nope"})
	if _, err := bad.Send(context.Background(), smsMessage(79, "+447700900123", "x")); err == nil || channels.IsPermanent(err) {
		t.Errorf("bad token: err = %v, want transient", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
