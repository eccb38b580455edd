package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// UpsertProfiles writes customers sent one at a time or in a batch by the
// shop's systems (PUT /v1/customers): as UpsertCustomersEach, in one
// transaction, an input the database refuses for its data left out alone,
// and it says what the write did to each input (outcomes[i], "" for a
// refused one). source names consent changes whose input names no source
// of its own (ConsentAPI).
func (s *Store) UpsertProfiles(ctx context.Context, in []CustomerInput, source string) ([]UpsertOutcome, []RowError, error) {
	outcomes := make([]UpsertOutcome, len(in))
	if len(in) == 0 {
		return outcomes, nil, nil
	}
	if err := checkCustomers(in); err != nil {
		return nil, nil, fmt.Errorf("store: upsert profiles: %w", err)
	}
	if _, err := s.keyedHash(ctx); err != nil {
		return nil, nil, err
	}
	_, refused, err := s.batchOrEach(ctx, "profiles", len(in), func() (UpsertResult, error) {
		var res UpsertResult
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			res, err = s.upsertEachTx(ctx, tx, in, source, outcomes)
			return err
		})
		return res, err
	}, func(tx *sqlx.Tx, i int) (UpsertResult, error) {
		return s.upsertEachTx(ctx, tx, in[i:i+1], source, outcomes[i:i+1])
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: upsert profiles: %w", err)
	}
	for _, r := range refused {
		outcomes[r.Index] = ""
	}
	return outcomes, refused, nil
}

// ProfileView is one customer as GET /v1/customers/{id} answers: every
// column of the profile (addresses, consents, tags, attributes, purchase
// metrics, scores) and the consent history.
type ProfileView struct {
	Profile        map[string]any  `json:"profile"`
	ConsentHistory []ConsentChange `json:"consent_history"`
}

// Profile returns the ProfileView of customer id; ErrNotFound when there is
// none.
func (s *Store) Profile(ctx context.Context, id int64) (*ProfileView, error) {
	c, err := s.CustomerByID(ctx, id)
	if err != nil {
		return nil, err
	}
	h, err := s.ConsentHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ProfileView{Profile: profileOf(c), ConsentHistory: h}, nil
}
