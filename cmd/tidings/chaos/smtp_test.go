package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
)

// TestSMTPRefusesThenAccepts is reliability scenario 13 at its harshest:
// the relay answers 451 to every recipient for a minute (short form 10 s),
// then accepts. The workers back off (retries, the circuit breaker) and
// deliver everything afterwards, each message once; nothing is marked failed
// or suppressed.
func TestSMTPRefusesThenAccepts(t *testing.T) {
	drill(t)
	n := pick(10000, 2000)
	window := pick(time.Minute, 10*time.Second)
	var refused int
	_, rep, recover := faultRun(t, cluster.Options{}, n, 2, 0.2, 8*time.Minute, func(c *cluster.Cluster) {
		c.SMTP.Refuse(451)
		t.Logf("refusing with 451 after %d messages, for %s", len(c.SMTP.Messages()), window)
		time.Sleep(window) // the fault: the relay refuses for the whole window
		c.SMTP.Refuse(0)
		refused = c.SMTP.Refused()
	})
	if refused == 0 {
		t.Errorf("the SMTP server refused no recipient: the fault did not land")
	}
	if rep.Unknown != 0 {
		t.Errorf("%d rows unknown: a refusal is not an unknown outcome", rep.Unknown)
	}
	record(t, fmt.Sprintf("d. SMTP 451 for %s", window), rep, recover, fmt.Sprintf("%d refusals", refused))
}
