package main

import (
	"strings"
	"testing"
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
