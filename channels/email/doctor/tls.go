package doctor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"time"

	"github.com/tidings-crm/tidings/channels/email"
)

// checkTLS connects to the relay as Tidings does and reports whether the
// session is encrypted with a certificate that verifies.
func checkTLS(ctx context.Context, o Options) Check {
	c := Check{Name: "TLS to the relay " + o.Relay}
	host, _, err := net.SplitHostPort(o.Relay)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "write the relay as host:port in TIDINGS_SMTP_URL"
		return c
	}
	cfg := o.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	d := &net.Dialer{Timeout: o.Timeout}
	if o.TLSMode == email.TLSImplicit {
		conn, err := (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", o.Relay)
		if err != nil {
			c.Detail, c.Fix = "TLS handshake failed: "+err.Error(), "check the relay's port (465 for smtps://) and its certificate"
			return c
		}
		defer conn.Close()
		c.OK, c.Detail = true, "implicit TLS, "+tls.VersionName(conn.(*tls.Conn).ConnectionState().Version)+", certificate verified"
		return c
	}
	conn, err := d.DialContext(ctx, "tcp", o.Relay)
	if err != nil {
		c.Detail, c.Fix = "connect failed: "+err.Error(), "check TIDINGS_SMTP_URL's host and port, and the firewall"
		return c
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(o.Timeout))
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		c.Detail, c.Fix = "no SMTP greeting: "+err.Error(), "check TIDINGS_SMTP_URL points at an SMTP server"
		return c
	}
	defer cl.Close()
	if err := cl.Hello("tidings-doctor.invalid"); err != nil {
		c.Detail, c.Fix = "EHLO refused: "+err.Error(), "check TIDINGS_SMTP_URL points at an SMTP server"
		return c
	}
	if ok, _ := cl.Extension("STARTTLS"); !ok {
		c.Detail = "the relay offers no STARTTLS: messages and the password cross the network in clear"
		c.Fix = "enable STARTTLS on the relay, or use its smtps:// port; then set ?tls=required in TIDINGS_SMTP_URL"
		return c
	}
	if err := cl.StartTLS(cfg); err != nil {
		c.Detail = "STARTTLS failed: " + err.Error()
		c.Fix = "give the relay a certificate valid for " + host + " (or fix its name in TIDINGS_SMTP_URL)"
		return c
	}
	state, _ := cl.TLSConnectionState()
	c.OK, c.Detail = true, fmt.Sprintf("STARTTLS, %s, certificate verified", tls.VersionName(state.Version))
	if o.TLSMode != email.TLSRequired {
		c.Detail += fmt.Sprintf(" (TIDINGS_SMTP_URL's tls=%s falls back to clear text if STARTTLS ever fails: ?tls=required refuses that)", orDefault(o.TLSMode))
	}
	return c
}

func orDefault(m email.TLSMode) string {
	if m == "" {
		return string(email.TLSStartTLS)
	}
	return string(m)
}
