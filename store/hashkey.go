package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// ErrHashKey is returned when the hash key given to LoadHashKey is not the
// one this database's suppressions were hashed with, or when none is given
// and the database's key is kept outside it. Starting anyway would miss
// every suppression, so callers stop and name TIDINGS_HASH_KEY.
var ErrHashKey = errors.New("store: hash key mismatch")

// hashKeyCheck is the text whose HMAC under the key is stored in hash_key:
// it tells whether a key is the database's without storing the key.
const hashKeyCheck = "tidings hash key check v1"

// addressHasher computes the keyed hash suppressions are stored under. Its
// HMAC states are pooled: an audience batch hashes thousands of addresses.
type addressHasher struct {
	pool sync.Pool
}

func newAddressHasher(key []byte) *addressHasher {
	k := append([]byte(nil), key...)
	return &addressHasher{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

// sum returns hex(HMAC-SHA256(key, address)) of a normalised address. The
// channel is not part of it (emails and phone numbers cannot collide), so
// a claim can check the row's address whatever its channel.
func (h *addressHasher) sum(address string) string {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(address))
	var out [sha256.Size]byte
	s := hex.EncodeToString(m.Sum(out[:0]))
	h.pool.Put(m)
	return s
}

// KeyStored tells where LoadHashKey found the key.
type KeyStored int

// Where the hash key came from.
const (
	KeyGiven     KeyStored = iota // the caller's (TIDINGS_HASH_KEY)
	KeyInDB                       // kept in the database: none was ever given
	KeyGenerated                  // none existed: generated now and kept in the database
)

// LoadHashKey sets the key suppressions are hashed under, and hashes the
// suppressions still stored in clear (those written before migration 0012).
// Every store that reads or writes suppressions must load it first.
//
// given is TIDINGS_HASH_KEY. When it is set, it must be the database's key
// (ErrHashKey otherwise); a key that was kept in the database is then
// removed from it, having moved to the environment. When it is empty the
// database's kept key is used, or one is generated and kept there.
func (s *Store) LoadHashKey(ctx context.Context, given string) (KeyStored, error) {
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	return s.loadHashKey(ctx, given)
}

// keyedHash returns the loaded key's hasher; a store whose caller loaded
// none uses the key kept in the database (LoadHashKey with no key given),
// or fails naming TIDINGS_HASH_KEY when the database's key is kept outside.
func (s *Store) keyedHash(ctx context.Context) (*addressHasher, error) {
	if h := s.hasher.Load(); h != nil {
		return h, nil
	}
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	if h := s.hasher.Load(); h != nil {
		return h, nil
	}
	if _, err := s.loadHashKey(ctx, ""); err != nil {
		return nil, err
	}
	return s.hasher.Load(), nil
}

func (s *Store) loadHashKey(ctx context.Context, given string) (KeyStored, error) {
	var (
		key   []byte
		where KeyStored
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		key, where, err = s.resolveHashKey(ctx, tx, given)
		return err
	})
	if err != nil {
		return where, err
	}
	h := newAddressHasher(key)
	if err := s.hashPlainSuppressions(ctx, h); err != nil {
		return where, err
	}
	s.hasher.Store(h)
	return where, nil
}

func keyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(hashKeyCheck))
	return hex.EncodeToString(m.Sum(nil))
}

type hashKeyRow struct {
	Check string         `db:"key_check"`
	Key   sql.NullString `db:"key"`
}

func (s *Store) resolveHashKey(ctx context.Context, tx *sqlx.Tx, given string) ([]byte, KeyStored, error) {
	row, found, err := readHashKey(ctx, tx)
	if err != nil {
		return nil, KeyGiven, err
	}
	where := KeyInDB
	if given != "" {
		where = KeyGiven
	}
	if !found {
		// ON CONFLICT: a process starting beside this one may write first;
		// the row read again is then its key, or its check.
		key, kept := given, sql.NullString{}
		if given == "" {
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return nil, where, fmt.Errorf("store: generate hash key: %w", err)
			}
			key = hex.EncodeToString(b[:])
			kept = sql.NullString{String: key, Valid: true}
			where = KeyGenerated
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO hash_key (id, key_check, key) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`), keyCheck([]byte(key)), kept); err != nil {
			return nil, where, fmt.Errorf("store: keep hash key: %w", err)
		}
		if row, _, err = readHashKey(ctx, tx); err != nil {
			return nil, where, err
		}
	}
	if given == "" {
		if !row.Key.Valid {
			return nil, where, fmt.Errorf("%w: this database's suppressions are hashed with a key kept outside it; "+
				"set TIDINGS_HASH_KEY to it", ErrHashKey)
		}
		return []byte(row.Key.String), where, nil
	}
	if row.Check != keyCheck([]byte(given)) {
		return nil, where, fmt.Errorf("%w: TIDINGS_HASH_KEY is not the key this database's suppressions were "+
			"hashed with; set it to that key (a new key would forget every unsubscribe and erasure)", ErrHashKey)
	}
	if row.Key.Valid {
		if _, err := tx.ExecContext(ctx, `UPDATE hash_key SET key = NULL WHERE id = 1`); err != nil {
			return nil, where, fmt.Errorf("store: move hash key out of the database: %w", err)
		}
	}
	return []byte(given), where, nil
}

func readHashKey(ctx context.Context, tx *sqlx.Tx) (hashKeyRow, bool, error) {
	var row hashKeyRow
	err := tx.GetContext(ctx, &row, `SELECT key_check, key FROM hash_key WHERE id = 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("store: read hash key: %w", err)
	}
	return row, true, nil
}

// hashPlainSuppressions replaces each address still stored in clear by its
// keyed hash. Two plain rows that hash alike cannot exist (addresses are
// unique per channel), but a plain row whose hash is already stored (written
// by a newer process meanwhile) is dropped, the hashed row kept.
func (s *Store) hashPlainSuppressions(ctx context.Context, hasher *addressHasher) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var rows []struct {
			ID      int64         `db:"id"`
			Channel channels.Name `db:"channel"`
			Address string        `db:"address"`
		}
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT id, channel, address FROM suppressions WHERE hashed = ?`), false); err != nil {
			return fmt.Errorf("store: read plain suppressions: %w", err)
		}
		for _, r := range rows {
			addr, err := NormalizeAddress(r.Channel, r.Address)
			if err != nil {
				addr = r.Address
			}
			h := hasher.sum(addr)
			var n int
			if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT count(*) FROM suppressions WHERE channel = ? AND address = ?`), r.Channel, h); err != nil {
				return fmt.Errorf("store: hash suppressions: %w", err)
			}
			q := `UPDATE suppressions SET address = ?, hashed = ? WHERE id = ?`
			args := []any{h, true, r.ID}
			if n > 0 {
				q, args = `DELETE FROM suppressions WHERE id = ?`, []any{r.ID}
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("store: hash suppressions: %w", err)
			}
		}
		return nil
	})
}

// AddressHash returns the keyed hash an address is stored under in the
// suppressions table (after NormalizeAddress), for exports and tests.
func (s *Store) AddressHash(ctx context.Context, channel channels.Name, address string) (string, error) {
	addr, err := NormalizeAddress(channel, address)
	if err != nil {
		return "", err
	}
	h, err := s.keyedHash(ctx)
	if err != nil {
		return "", err
	}
	return h.sum(addr), nil
}
