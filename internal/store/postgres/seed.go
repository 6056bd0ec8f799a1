package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
)

// SeedUsers inserts users with 2FA already on with one COPY, for the load
// benchmark (twofold bench) and its million-user runs: creating a user,
// storing a pending secret and enabling it one request at a time would take
// three round trips and commits per user. The ids are reserved from the
// users identity sequence first (so they never collide with a server
// inserting at the same time), because seal, called with each user once
// its ID is set, needs it (the id is bound into the ciphertext); u.TOTP is
// set too. Not part of account.Store.
func (s *Store) SeedUsers(ctx context.Context, users []*account.User, seal func(u *account.User) (account.SealedSecret, error)) error {
	if len(users) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT nextval(pg_get_serial_sequence('users', 'id')) FROM generate_series(1, $1)`, len(users))
	if err != nil {
		return fmt.Errorf("postgres: seed users: reserve ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("postgres: seed users: reserve ids: %w", err)
	}
	_, err = s.pool.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"id", "email", "name", "mobile_phone", "password_hash", "created_at", "totp_key_id", "totp_secret", "totp_last_step", "totp_enabled_at"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			u := users[i]
			u.ID = ids[i]
			sealed, err := seal(u)
			if err != nil {
				return nil, err
			}
			var lastStep int64
			if u.TOTP != nil {
				lastStep = u.TOTP.LastStep
			}
			u.TOTP = &account.TOTPState{Secret: sealed, LastStep: lastStep, EnabledAt: u.CreatedAt}
			return []any{u.ID, u.Email, u.Name, u.MobilePhone, u.PasswordHash, millis(u.CreatedAt),
				sealed.KeyID, sealed.Ciphertext, lastStep, millis(u.CreatedAt)}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: seed users: copy: %w", err)
	}
	return nil
}

// SeedSessions inserts sessions with one COPY, for the load benchmark (to
// give the session index a realistic size). Not part of account.Store.
func (s *Store) SeedSessions(ctx context.Context, sessions []*account.Session) error {
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"sessions"},
		[]string{"token_hash", "user_id", "stage", "created_at", "last_seen_at", "authenticated_at", "expires_at", "ip", "user_agent"},
		pgx.CopyFromSlice(len(sessions), func(i int) ([]any, error) {
			s := sessions[i]
			return []any{s.TokenHash, s.UserID, string(s.Stage), millis(s.CreatedAt), millis(s.LastSeenAt),
				millis(s.AuthenticatedAt), millis(s.ExpiresAt), s.IP, s.UserAgent}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: seed sessions: copy: %w", err)
	}
	return nil
}
