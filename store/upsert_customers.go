package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// CustomerInput is one customer to create or update, keyed on ExternalID.
// Only the fields provided overwrite stored values: nil pointers, a nil Tags
// slice and a nil Attributes map leave the stored value alone.
type CustomerInput struct {
	ExternalID   string
	Email        *string
	Phone        *string
	FirstName    *string
	LastName     *string
	Locale       *string
	TimeZone     *string
	Birthday     *time.Time // date only; a zero time clears the birthday
	EmailConsent *bool
	SMSConsent   *bool
	// EmailConsentSource and SMSConsentSource name where a consent change
	// comes from in the consent history ("checkout-form"); empty: the
	// writer's own source (import, webhook, api).
	EmailConsentSource, SMSConsentSource string
	Tags                                 []string // non-nil replaces the tags (an empty, non-nil slice clears them)
	// Attributes are merged key by key into the stored ones; a nil value
	// deletes that key.
	Attributes map[string]any
}

// profile is the writable part of a customer, compared to tell an update from
// a no-op.
type profile struct {
	id                                                  int64
	email, phone, firstName, lastName, locale, timeZone string
	birthday                                            time.Time
	emailConsent, smsConsent                            bool
	tags                                                []string
	attributes                                          map[string]any
}

func (p *profile) apply(in *CustomerInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.email, in.Email)
	set(&p.phone, in.Phone)
	set(&p.firstName, in.FirstName)
	set(&p.lastName, in.LastName)
	set(&p.locale, in.Locale)
	set(&p.timeZone, in.TimeZone)
	if in.Birthday != nil {
		p.birthday = dateOnly(*in.Birthday)
	}
	if in.EmailConsent != nil {
		p.emailConsent = *in.EmailConsent
	}
	if in.SMSConsent != nil {
		p.smsConsent = *in.SMSConsent
	}
	if in.Tags != nil {
		p.tags = slices.Clone(in.Tags)
	}
	if in.Attributes != nil {
		merged := maps.Clone(p.attributes)
		if merged == nil {
			merged = map[string]any{}
		}
		for k, v := range in.Attributes {
			if v == nil {
				delete(merged, k)
			} else {
				merged[k] = v
			}
		}
		p.attributes = merged
	}
}

func dateOnly(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// encoded is a profile's values as written: JSON canonicalised.
type encoded struct {
	p          profile
	tags, attr string
}

func encode(p profile) (encoded, error) {
	tags := p.tags
	if tags == nil {
		tags = []string{}
	}
	t, err := marshalCanonical(tags, "[]")
	if err != nil {
		return encoded{}, fmt.Errorf("encode tags: %w", err)
	}
	a, err := marshalCanonical(p.attributes, "{}")
	if err != nil {
		return encoded{}, fmt.Errorf("encode attributes: %w", err)
	}
	return encoded{p: p, tags: t, attr: a}, nil
}

func (e encoded) equal(o encoded) bool {
	a, b := e.p, o.p
	return a.email == b.email && a.phone == b.phone && a.firstName == b.firstName &&
		a.lastName == b.lastName && a.locale == b.locale && a.timeZone == b.timeZone &&
		a.birthday.Equal(b.birthday) && a.emailConsent == b.emailConsent &&
		a.smsConsent == b.smsConsent && e.tags == o.tags && e.attr == o.attr
}

// UpsertCustomers creates or updates customers keyed on external id, in one
// transaction with multi-row statements. Rows whose provided fields already
// match are counted Unchanged and not rewritten.
func (s *Store) UpsertCustomers(ctx context.Context, in []CustomerInput) (UpsertResult, error) {
	var res UpsertResult
	if len(in) == 0 {
		return res, nil
	}
	if err := checkCustomers(in); err != nil {
		return res, fmt.Errorf("store: upsert customers: %w", err)
	}
	// Loaded before the transaction: loading it may write (a first key).
	if _, err := s.keyedHash(ctx); err != nil {
		return res, err
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		res, err = s.upsertCustomersTx(ctx, tx, in, ConsentImport)
		return err
	})
	if err != nil {
		return UpsertResult{}, fmt.Errorf("store: upsert customers: %w", err)
	}
	return res, nil
}

// UpsertCustomersEach writes customers as UpsertCustomers does, and when
// the batch is refused for the data of some row (RowFault), writes the rows
// one by one instead, each under a savepoint, so that only the refused rows
// are left out: they are returned by index, and the others are stored.
func (s *Store) UpsertCustomersEach(ctx context.Context, in []CustomerInput) (UpsertResult, []RowError, error) {
	if _, err := s.keyedHash(ctx); err != nil {
		return UpsertResult{}, nil, err
	}
	return s.batchOrEach(ctx, "customers", len(in), func() (UpsertResult, error) { return s.UpsertCustomers(ctx, in) },
		func(tx *sqlx.Tx, i int) (UpsertResult, error) {
			one := in[i : i+1]
			if err := checkCustomers(one); err != nil {
				return UpsertResult{}, err
			}
			return s.upsertCustomersTx(ctx, tx, one, ConsentImport)
		})
}

// checkCustomers refuses inputs without the key they are upserted on.
func checkCustomers(in []CustomerInput) error {
	for i := range in {
		if in[i].ExternalID == "" {
			return fmt.Errorf("input %d has no external id: %w", i, ErrInvalidInput)
		}
	}
	return nil
}

// upsertCustomersTx writes in; source names where the consent flags come
// from in the consent history.
func (s *Store) upsertCustomersTx(ctx context.Context, tx *sqlx.Tx, in []CustomerInput, source string) (UpsertResult, error) {
	return s.upsertEachTx(ctx, tx, in, source, nil)
}

// upsertEachTx is upsertCustomersTx that also says, when outcomes is not
// nil (len(in) long), what the write did to each input.
func (s *Store) upsertEachTx(ctx context.Context, tx *sqlx.Tx, in []CustomerInput, source string, outcomes []UpsertOutcome) (UpsertResult, error) {
	var res UpsertResult
	each := outcomes
	if each == nil {
		each = make([]UpsertOutcome, len(in))
	}
	keys := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i := range in {
		if !seen[in[i].ExternalID] {
			seen[in[i].ExternalID] = true
			keys = append(keys, in[i].ExternalID)
		}
	}
	stored, err := s.loadProfiles(ctx, tx, keys)
	if err != nil {
		return res, err
	}
	current := make(map[string]encoded, len(keys))
	for _, k := range keys {
		if e, ok := stored[k]; ok {
			current[k] = e
		}
	}
	for i := range in {
		k := in[i].ExternalID
		before, exists := current[k]
		p := before.p
		p.apply(&in[i])
		after, err := encode(p)
		if err != nil {
			return res, fmt.Errorf("customer %q: %w (%w)", k, err, ErrInvalidInput)
		}
		o := OutcomeUpdated
		switch {
		case !exists:
			o = OutcomeCreated
		case after.equal(before):
			o = OutcomeUnchanged
		}
		each[i] = o
		current[k] = after
	}
	if err := s.withholdSuppressed(ctx, tx, keys, stored, current); err != nil {
		return res, err
	}
	for i := range in {
		// Consent withheld again from a suppressed address is no change.
		k := in[i].ExternalID
		if old, ok := stored[k]; ok && each[i] == OutcomeUpdated && old.equal(current[k]) {
			each[i] = OutcomeUnchanged
		}
		switch each[i] {
		case OutcomeCreated:
			res.Inserted++
		case OutcomeUnchanged:
			res.Unchanged++
		default:
			res.Updated++
		}
	}
	var writes []string
	for _, k := range keys {
		if old, ok := stored[k]; !ok || !old.equal(current[k]) {
			writes = append(writes, k)
		}
	}
	if err := s.writeProfiles(ctx, tx, writes, current); err != nil {
		return res, err
	}
	return res, s.recordConsentByExternalID(ctx, tx, consentFlips(writes, stored, current, consentSources(in)), source)
}

// consentSources is, by external id and channel, the source an input names
// for its consent (the last input of a key wins, as its values do).
func consentSources(in []CustomerInput) map[string][2]string {
	var out map[string][2]string
	for i := range in {
		if in[i].EmailConsentSource == "" && in[i].SMSConsentSource == "" {
			continue
		}
		if out == nil {
			out = map[string][2]string{}
		}
		out[in[i].ExternalID] = [2]string{in[i].EmailConsentSource, in[i].SMSConsentSource}
	}
	return out
}

// consentFlips lists the consent flags the writes change. A new customer
// starts without consent: granting it at creation is a change.
func consentFlips(writes []string, stored, current map[string]encoded, sources map[string][2]string) []consentFlip {
	var out []consentFlip
	for _, k := range writes {
		before, after := stored[k].p, current[k].p
		src := sources[k]
		if before.emailConsent != after.emailConsent {
			out = append(out, consentFlip{ext: k, channel: channels.Email, granted: after.emailConsent, source: src[0]})
		}
		if before.smsConsent != after.smsConsent {
			out = append(out, consentFlip{ext: k, channel: channels.SMS, granted: after.smsConsent, source: src[1]})
		}
	}
	return out
}

// withholdSuppressed clears the consent an import or webhook would grant to
// an address on the suppression list (unsubscribed, stopped, erased): a
// person who opted out, or whose data was erased, does not become a
// marketing recipient again because a system that missed it sends the
// address with consent. Only rows that grant consent or change an address
// with consent are looked up, hashed in one pass, one query per channel.
func (s *Store) withholdSuppressed(ctx context.Context, tx *sqlx.Tx, keys []string, stored, current map[string]encoded) error {
	var emails, phones []string
	for _, k := range keys {
		before, after := stored[k].p, current[k].p
		if after.emailConsent && after.email != "" && (!before.emailConsent || before.email != after.email) {
			emails = append(emails, after.email)
		}
		if after.smsConsent && after.phone != "" && (!before.smsConsent || before.phone != after.phone) {
			phones = append(phones, after.phone)
		}
	}
	if len(emails)+len(phones) == 0 {
		return nil
	}
	supEmail, err := s.suppressedSet(ctx, tx, channels.Email, emails)
	if err != nil {
		return err
	}
	supPhone, err := s.suppressedSet(ctx, tx, channels.SMS, phones)
	if err != nil {
		return err
	}
	for _, k := range keys {
		e := current[k]
		if supEmail[e.p.email] {
			e.p.emailConsent = false
		}
		if supPhone[e.p.phone] {
			e.p.smsConsent = false
		}
		current[k] = e
	}
	return nil
}

func (s *Store) loadProfiles(ctx context.Context, tx *sqlx.Tx, keys []string) (map[string]encoded, error) {
	out := make(map[string]encoded, len(keys))
	lock := ""
	if s.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	for _, ch := range chunks(len(keys), maxInList) {
		part := keys[ch[0]:ch[1]]
		q := tx.Rebind(`SELECT id, external_id, email, phone, first_name, last_name, locale, time_zone, birthday,
			email_consent, sms_consent, tags, attributes FROM customers WHERE external_id IN ` + placeholders(len(part)) + lock)
		rows, err := tx.QueryContext(ctx, q, anySlice(part)...)
		if err != nil {
			return nil, fmt.Errorf("read existing customers: %w", err)
		}
		if err := scanProfiles(rows, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scanProfiles(rows *sql.Rows, out map[string]encoded) error {
	defer rows.Close()
	for rows.Next() {
		var (
			p          profile
			ext        string
			tags, attr []byte
		)
		if err := rows.Scan(int64Into{&p.id}, &ext, &p.email, &p.phone, &p.firstName, &p.lastName, &p.locale,
			&p.timeZone, dateInto{&p.birthday}, boolInto{&p.emailConsent}, boolInto{&p.smsConsent}, &tags, &attr); err != nil {
			return fmt.Errorf("read existing customers: %w", err)
		}
		if err := json.Unmarshal(tags, &p.tags); err != nil {
			return fmt.Errorf("decode tags of customer %q: %w", ext, err)
		}
		if err := json.Unmarshal(attr, &p.attributes); err != nil {
			return fmt.Errorf("decode attributes of customer %q: %w", ext, err)
		}
		e, err := encode(p)
		if err != nil {
			return fmt.Errorf("customer %q: %w", ext, err)
		}
		out[ext] = e
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read existing customers: %w", err)
	}
	return nil
}

const customerWriteCols = 13

func (s *Store) writeProfiles(ctx context.Context, tx *sqlx.Tx, keys []string, rows map[string]encoded) error {
	now := time.Now().UTC()
	for _, ch := range chunks(len(keys), maxRowsPerInsert) {
		part := keys[ch[0]:ch[1]]
		args := make([]any, 0, len(part)*customerWriteCols)
		for _, k := range part {
			e := rows[k]
			p := e.p
			args = append(args, k, p.email, p.phone, p.firstName, p.lastName, p.locale, p.timeZone,
				s.dateArg(p.birthday), p.emailConsent, p.smsConsent, e.tags, e.attr, now)
		}
		q := tx.Rebind(`INSERT INTO customers (external_id, email, phone, first_name, last_name, locale, time_zone,
			birthday, email_consent, sms_consent, tags, attributes, updated_at)
		VALUES ` + valuesList(len(part), customerWriteCols) + `
		ON CONFLICT (external_id) DO UPDATE SET email = excluded.email, phone = excluded.phone,
			first_name = excluded.first_name, last_name = excluded.last_name, locale = excluded.locale,
			time_zone = excluded.time_zone, birthday = excluded.birthday, email_consent = excluded.email_consent,
			sms_consent = excluded.sms_consent, tags = excluded.tags, attributes = excluded.attributes,
			updated_at = excluded.updated_at`)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("write %d customers: %w", len(part), err)
		}
	}
	return nil
}

func anySlice[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}
