package triggers_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/triggers"
)

// The Standard Webhooks specification's published test vector.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = "1614265330"
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specVerifier(t *testing.T, secrets string) *triggers.Verifier {
	t.Helper()
	v, err := triggers.NewVerifier(secrets)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return time.Unix(1614265330, 0).Add(30 * time.Second) }
	return v
}

func TestSignMatchesSpecVector(t *testing.T) {
	t.Parallel()
	got, err := triggers.Sign(specSecret, specID, time.Unix(1614265330, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != specSig {
		t.Fatalf("Sign = %s, want %s", got, specSig)
	}
	if err := specVerifier(t, specSecret).Verify(specID, specTS, specSig, []byte(specBody)); err != nil {
		t.Fatalf("spec vector does not verify: %v", err)
	}
}

func TestVerifyRotationAndFailures(t *testing.T) {
	t.Parallel()
	const newSecret = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM="
	newSig, err := triggers.Sign(newSecret, specID, time.Unix(1614265330, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	both := specVerifier(t, newSecret+" "+specSecret)
	oldOnly := specVerifier(t, specSecret)
	cases := []struct {
		name      string
		v         *triggers.Verifier
		id, ts    string
		sig, body string
		want      error
	}{
		{"old secret during rotation", both, specID, specTS, specSig, specBody, nil},
		{"new secret during rotation", both, specID, specTS, newSig, specBody, nil},
		{"several signatures, one valid", oldOnly, specID, specTS, "v1,bm9wZQ== " + newSig + " " + specSig, specBody, nil},
		{"new signature, old secret only", oldOnly, specID, specTS, newSig, specBody, triggers.ErrBadSignature},
		{"body changed", both, specID, specTS, specSig, `{"test": 2432232315}`, triggers.ErrBadSignature},
		{"id changed", both, "msg_other", specTS, specSig, specBody, triggers.ErrBadSignature},
		{"wrong version", both, specID, specTS, "v2," + specSig[3:], specBody, triggers.ErrBadSignature},
		{"no signature", both, specID, specTS, "", specBody, triggers.ErrMissingHeaders},
		{"no id", both, "", specTS, specSig, specBody, triggers.ErrMissingHeaders},
		{"timestamp not a number", both, specID, "yesterday", specSig, specBody, triggers.ErrBadTimestamp},
		{"timestamp 6 minutes old", both, specID, "1614264970", specSig, specBody, triggers.ErrStaleTimestamp},
		{"timestamp 6 minutes ahead", both, specID, "1614265750", specSig, specBody, triggers.ErrStaleTimestamp},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Verify(tc.id, tc.ts, tc.sig, []byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewVerifierRejectsBadSecrets(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_"} {
		if _, err := triggers.NewVerifier(s); err == nil {
			t.Errorf("NewVerifier(%q) accepted", s)
		}
	}
}
