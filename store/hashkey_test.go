package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// Suppressions written in clear before migration 0012 are hashed by the
// first store that loads the key; another key is refused, and a key given
// later in TIDINGS_HASH_KEY takes the kept one's place.
func TestHashKeyConvertsAndGuards(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, url := storetest.OpenURL(t, d)
			if _, err := st.DB.Exec(st.DB.Rebind(`INSERT INTO suppressions (channel, address, reason, hashed)
				VALUES ('email', 'old@example.com', 'unsubscribe', ?), ('sms', '+33600000001', 'stop', ?)`), false, false); err != nil {
				t.Fatal(err)
			}
			var kept string
			if err := st.DB.Get(&kept, `SELECT key FROM hash_key`); err != nil {
				t.Fatal(err)
			}
			other, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.LoadHashKey(ctx, strings.Repeat("x", 40)); !errors.Is(err, store.ErrHashKey) {
				t.Fatalf("another key: %v, want ErrHashKey", err)
			}
			where, err := other.LoadHashKey(ctx, kept)
			if err != nil || where != store.KeyGiven {
				t.Fatalf("the kept key given: %v, %v", where, err)
			}
			if dump := storetest.Dump(t, st, "suppressions"); strings.Contains(dump, "old@") || strings.Contains(dump, "+3360") {
				t.Fatalf("plain suppressions left:\n%s", dump)
			}
			for ch, addr := range map[channels.Name]string{channels.Email: "OLD@example.com", channels.SMS: "+33600000001"} {
				if sup, err := st.IsSuppressed(ctx, ch, addr); err != nil || !sup {
					t.Errorf("%s %s suppressed = %v, %v after hashing", ch, addr, sup, err)
				}
			}
			var n int
			if err := st.DB.Get(&n, `SELECT count(*) FROM hash_key WHERE key IS NOT NULL`); err != nil || n != 0 {
				t.Fatalf("the key is still kept in the database (%d, %v) once TIDINGS_HASH_KEY gives it", n, err)
			}
			third, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer third.Close()
			if _, err := third.LoadHashKey(ctx, ""); !errors.Is(err, store.ErrHashKey) {
				t.Fatalf("no key once it moved out: %v, want ErrHashKey naming TIDINGS_HASH_KEY", err)
			}
		})
	}
}
