package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/twofold/twofold/internal/account"
)

// seedBatch is how many rows one seeding transaction writes: large enough
// to amortize the commit, small enough not to hold the write lock for long
// against a server running on the same file.
const seedBatch = 5000

// SeedUsers inserts users with 2FA already on, in a few large transactions,
// for the load benchmark (twofold bench): creating a user, storing a
// pending secret and enabling it one request at a time would take three
// commits per user. Ids are taken as max(id)+1… inside each IMMEDIATE
// transaction, which holds the write lock, so they cannot collide with a
// server inserting at the same time. seal is called with each user once its
// ID is set (the id is bound into the ciphertext) and its result stored as
// the enabled secret; u.TOTP is set too. Not part of account.Store.
func (s *Store) SeedUsers(ctx context.Context, users []*account.User, seal func(u *account.User) (account.SealedSecret, error)) error {
	for start := 0; start < len(users); start += seedBatch {
		batch := users[start:min(start+seedBatch, len(users))]
		err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var next int64
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM users`).Scan(&next); err != nil {
				return err
			}
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO users (id, email, name, mobile_phone, password_hash, created_at,
				totp_key_id, totp_secret, totp_last_step, totp_enabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, u := range batch {
				u.ID = next
				next++
				sealed, err := seal(u)
				if err != nil {
					return err
				}
				var lastStep int64
				if u.TOTP != nil {
					lastStep = u.TOTP.LastStep
				}
				u.TOTP = &account.TOTPState{Secret: sealed, LastStep: lastStep, EnabledAt: u.CreatedAt}
				if _, err := stmt.ExecContext(ctx, u.ID, u.Email, u.Name, u.MobilePhone, u.PasswordHash, millis(u.CreatedAt),
					sealed.KeyID, sealed.Ciphertext, lastStep, millis(u.CreatedAt)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sqlite: seed users: %w", err)
		}
	}
	return nil
}

// SeedSessions inserts sessions in a few large transactions, for the load
// benchmark (to give the session index a realistic size). Not part of
// account.Store.
func (s *Store) SeedSessions(ctx context.Context, sessions []*account.Session) error {
	for start := 0; start < len(sessions); start += seedBatch {
		batch := sessions[start:min(start+seedBatch, len(sessions))]
		err := s.inTx(ctx, func(ctx context.Context, sqlTx *sql.Tx) error {
			for _, sess := range batch {
				if err := (&tx{s: s, tx: sqlTx}).insertSession(ctx, sess); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sqlite: seed sessions: %w", err)
		}
	}
	return nil
}
