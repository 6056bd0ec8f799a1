package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// inTx marks the context a transaction's fn runs with, so a write started
// on the Store from inside it fails instead of committing on its own.
type inTx struct{}

var errWriteInsideTx = errors.New("postgres: a write was started on the store inside a write transaction; use the transaction's handle (account.Tx) instead")

// InTx implements account.Store, under READ COMMITTED: each statement sees
// what was committed before it started, every conditional UPDATE waits for
// a concurrent one on the same row and re-checks its WHERE on the new row,
// and RequireSecurityVersion and HoldSession take share locks that a
// concurrent bump or sign-out waits for.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx account.Tx) error) error {
	if ctx.Value(inTx{}) != nil {
		return errWriteInsideTx
	}
	ctx = context.WithValue(ctx, inTx{}, true)
	return pgx.BeginFunc(ctx, s.pool, func(pgTx pgx.Tx) error {
		return fn(ctx, &tx{tx: pgTx})
	})
}

// tx is account.Tx on one PostgreSQL transaction.
type tx struct {
	tx pgx.Tx
}

var _ account.Tx = (*tx)(nil)

// one runs a statement that must change one row: ifNone when it changed none.
func (t *tx) one(ctx context.Context, what string, ifNone error, query string, args ...any) error {
	tag, err := t.tx.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, ifNone)
	}
	return nil
}

// changed runs a conditional statement and reports whether it changed a row.
func (t *tx) changed(ctx context.Context, what, query string, args ...any) (bool, error) {
	tag, err := t.tx.Exec(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return tag.RowsAffected() > 0, nil
}

func (t *tx) exec(ctx context.Context, what, query string, args ...any) error {
	_, err := t.changed(ctx, what, query, args...)
	return err
}

func (t *tx) CreateUser(ctx context.Context, u *account.User) error {
	if u.Role == "" {
		u.Role = account.RoleMember
	}
	err := t.tx.QueryRow(ctx,
		`INSERT INTO users (email, name, mobile_phone, password_hash, created_at, role) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		u.Email, u.Name, u.MobilePhone, u.PasswordHash, millis(u.CreatedAt), string(u.Role)).Scan(&u.ID)
	if isUniqueViolation(err) {
		return account.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

// RequireSecurityVersion implements account.Tx. FOR NO KEY UPDATE, the
// lock an UPDATE of the row takes, makes a change that bumps the version
// wait for this transaction, and one that got there first makes this
// statement wait and then re-check the version on the updated row. (A
// share lock would deadlock two code steps of one user: each holding it,
// each then updating the row.)
func (t *tx) RequireSecurityVersion(ctx context.Context, userID, version int64) error {
	var current int64
	if err := t.tx.QueryRow(ctx, `SELECT security_version FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&current); err != nil {
		return fmt.Errorf("postgres: security version of user %d: %w", userID, notFound(err))
	}
	if current != version {
		return fmt.Errorf("postgres: security version of user %d is %d, not %d: %w", userID, current, version, account.ErrStale)
	}
	return nil
}

func (t *tx) UpdateProfile(ctx context.Context, userID int64, name, mobilePhone *string) error {
	err := t.one(ctx, "update profile", account.ErrNotFound,
		`UPDATE users SET name = COALESCE($1::text, name), mobile_phone = COALESCE($2::text, mobile_phone),
			security_version = security_version + CASE WHEN $2::text IS NOT NULL AND mobile_phone <> $2::text THEN 1 ELSE 0 END
		WHERE id = $3 AND ($2::text IS NULL OR $2::text <> '' OR totp_enabled_at IS NULL)`, name, mobilePhone, userID)
	if mobilePhone != nil && *mobilePhone == "" && errors.Is(err, account.ErrNotFound) {
		// No row changed: there is no such user, or 2FA is on.
		var one int
		switch err := t.tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1`, userID).Scan(&one); {
		case err == nil:
			return fmt.Errorf("postgres: update profile: %w", account.ErrTwoFactorEnabled)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("postgres: update profile: %w", err)
		}
	}
	return err
}

func (t *tx) ChangePasswordHash(ctx context.Context, userID, version int64, hash string) error {
	return t.one(ctx, "change password hash", account.ErrStale,
		`UPDATE users SET password_hash = $1, security_version = security_version + 1 WHERE id = $2 AND security_version = $3`,
		hash, userID, version)
}

func (t *tx) RehashPassword(ctx context.Context, userID int64, verified, hash string) (bool, error) {
	return t.changed(ctx, "rehash password", `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`, hash, userID, verified)
}

func (t *tx) SetPendingTOTP(ctx context.Context, userID int64, secret account.SealedSecret) error {
	return t.one(ctx, "set pending totp", account.ErrTwoFactorEnabled,
		`UPDATE users SET totp_pending_key_id = $1, totp_pending_secret = $2 WHERE id = $3 AND totp_enabled_at IS NULL`,
		secret.KeyID, secret.Ciphertext, userID)
}

func (t *tx) EnableTOTP(ctx context.Context, userID int64, pending account.SealedSecret, step int64, now time.Time) error {
	return t.one(ctx, "enable totp", account.ErrConflict,
		`UPDATE users SET totp_key_id = totp_pending_key_id, totp_secret = totp_pending_secret,
			totp_last_step = $1, totp_enabled_at = $2, totp_pending_key_id = NULL, totp_pending_secret = NULL,
			totp_failures = 0, totp_suspended_at = NULL, security_version = security_version + 1
		WHERE id = $3 AND totp_enabled_at IS NULL AND totp_pending_key_id = $4 AND totp_pending_secret = $5 AND mobile_phone <> ''`,
		step, millis(now), userID, pending.KeyID, pending.Ciphertext)
}

// AdvanceTOTPStep implements account.Tx. Under READ COMMITTED a second
// concurrent UPDATE waits for the first and re-checks the WHERE clause on
// the new row, so exactly one of them sees totp_last_step < step.
func (t *tx) AdvanceTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	return t.changed(ctx, "advance totp step",
		`UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_enabled_at IS NOT NULL AND totp_suspended_at IS NULL AND totp_last_step < $1`, step, userID)
}

// RecordSecondFactorFailure implements account.Tx: one UPDATE counts the
// failure and sets the suspension when the count reaches suspendAfter; the
// row lock makes concurrent failures count one by one.
func (t *tx) RecordSecondFactorFailure(ctx context.Context, userID int64, suspendAfter int, now time.Time) (int, bool, error) {
	var failures int
	err := t.tx.QueryRow(ctx,
		`UPDATE users SET totp_failures = totp_failures + 1,
			totp_suspended_at = CASE WHEN totp_suspended_at IS NULL AND totp_failures + 1 >= $1 THEN $2 ELSE totp_suspended_at END
		WHERE id = $3 RETURNING totp_failures`, suspendAfter, millis(now), userID).Scan(&failures)
	if err != nil {
		return 0, false, fmt.Errorf("postgres: record second factor failure: %w", notFound(err))
	}
	return failures, failures == suspendAfter, nil
}

func (t *tx) ClearSecondFactorFailures(ctx context.Context, userID int64, unsuspend bool) error {
	return t.exec(ctx, "clear second factor failures",
		`UPDATE users SET totp_failures = 0, totp_suspended_at = CASE WHEN $1::boolean THEN NULL ELSE totp_suspended_at END WHERE id = $2`,
		unsuspend, userID)
}

func (t *tx) DisableTOTP(ctx context.Context, userID int64) error {
	err := t.one(ctx, "disable totp", account.ErrNotFound,
		`UPDATE users SET totp_key_id = NULL, totp_secret = NULL, totp_enabled_at = NULL,
			totp_pending_key_id = NULL, totp_pending_secret = NULL, totp_failures = 0, totp_suspended_at = NULL,
			security_version = security_version + 1
		WHERE id = $1`, userID)
	if err != nil {
		return err
	}
	return t.exec(ctx, "disable totp: delete backup codes", `DELETE FROM backup_codes WHERE user_id = $1`, userID)
}

// ReplaceBackupCodes implements account.Tx. The conditional UPDATE takes
// the user's row lock first: a disable that committed before it leaves
// nothing to update (2FA off), one that comes after waits for this
// transaction and then deletes these codes too.
func (t *tx) ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error {
	err := t.one(ctx, "replace backup codes", account.ErrTwoFactorNotEnabled,
		`UPDATE users SET security_version = security_version + 1 WHERE id = $1 AND totp_enabled_at IS NOT NULL`, userID)
	if err != nil {
		return err
	}
	if err := t.exec(ctx, "replace backup codes", `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	return t.exec(ctx, "replace backup codes",
		`INSERT INTO backup_codes (user_id, key_id, code_hash, created_at) SELECT $1, $2, h, $4 FROM unnest($3::text[]) AS h`,
		userID, keyID, hashes, millis(now))
}

func (t *tx) UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error) {
	return t.changed(ctx, "use backup code",
		`UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`, millis(now), userID, hash)
}

const insertSessionSQL = `INSERT INTO sessions (` + rowmap.SessionColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func sessionArgs(sess *account.Session) []any {
	return []any{sess.TokenHash, sess.UserID, string(sess.Stage), millis(sess.CreatedAt), millis(sess.LastSeenAt),
		millis(sess.AuthenticatedAt), millis(sess.ExpiresAt), sess.IP, sess.UserAgent, sess.SecondFactor}
}

func (t *tx) CreateSession(ctx context.Context, sess *account.Session) error {
	return t.exec(ctx, "create session", insertSessionSQL, sessionArgs(sess)...)
}

// ReplaceSession implements account.Tx in one statement. The DELETE's row
// count decides: the INSERT only runs when it removed the old session, and
// a concurrent replacement of the same session waits on the row lock and
// then deletes, and so inserts, nothing.
func (t *tx) ReplaceSession(ctx context.Context, oldHash string, next *account.Session) error {
	return t.one(ctx, "replace session", account.ErrNotFound,
		`WITH old AS (DELETE FROM sessions WHERE token_hash = $11 RETURNING 1)
		INSERT INTO sessions (`+rowmap.SessionColumns+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM old)`,
		append(sessionArgs(next), oldHash)...)
}

func (t *tx) SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error {
	return t.one(ctx, "set session authenticated_at", account.ErrNotFound,
		`UPDATE sessions SET authenticated_at = $1 WHERE token_hash = $2`, millis(at), tokenHash)
}

// HoldSession implements account.Tx: FOR SHARE makes a concurrent sign-out
// (a DELETE of the row) wait for this transaction.
func (t *tx) HoldSession(ctx context.Context, tokenHash string) error {
	var one int
	if err := t.tx.QueryRow(ctx, `SELECT 1 FROM sessions WHERE token_hash = $1 FOR SHARE`, tokenHash).Scan(&one); err != nil {
		return fmt.Errorf("postgres: hold session: %w", notFound(err))
	}
	return nil
}

func (t *tx) DeleteSession(ctx context.Context, tokenHash string) (*account.Session, error) {
	sess, err := rowmap.ScanSession(t.tx.QueryRow(ctx, `DELETE FROM sessions WHERE token_hash = $1 RETURNING `+rowmap.SessionColumns, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("postgres: delete session: %w", notFound(err))
	}
	return sess, nil
}

func (t *tx) DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error {
	return t.exec(ctx, "delete user sessions", `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, keepHash)
}

func (t *tx) ReleaseAttempt(ctx context.Context, id int64) error {
	return t.exec(ctx, "release attempt", `DELETE FROM throttle_attempts WHERE id = $1`, id)
}

func (t *tx) CreatePendingSignUp(ctx context.Context, p *account.PendingSignUp) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO pending_signups (token_hash, email, name, mobile_phone, password_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		p.TokenHash, p.Email, p.Name, p.MobilePhone, p.PasswordHash, millis(p.CreatedAt), millis(p.ExpiresAt)).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("postgres: create pending sign-up: %w", err)
	}
	return nil
}

// CompleteSignUp implements account.Tx. One DELETE takes every pending
// sign-up of the link's email (and so their row locks, in one scan order):
// of two concurrent confirmations of the email's links the second waits,
// then finds them gone and creates nothing. Deleting the link's row and the
// email's others in two statements would let two confirmations each hold
// one row and wait for the other's (a deadlock).
func (t *tx) CompleteSignUp(ctx context.Context, id int64, now time.Time, u *account.User) error {
	rows, err := t.tx.Query(ctx, `DELETE FROM pending_signups
		WHERE email = (SELECT email FROM pending_signups WHERE id = $1 AND expires_at > $2) RETURNING id, token_hash`, id, millis(now))
	if err != nil {
		return fmt.Errorf("postgres: complete sign-up: %w", err)
	}
	type taken struct {
		ID        int64
		TokenHash string
	}
	deleted, err := pgx.CollectRows(rows, pgx.RowToStructByPos[taken])
	if err != nil {
		return fmt.Errorf("postgres: complete sign-up: %w", err)
	}
	i := slices.IndexFunc(deleted, func(d taken) bool { return d.ID == id })
	if i < 0 {
		return fmt.Errorf("postgres: complete sign-up: %w", account.ErrNotFound)
	}
	if err := t.CreateUser(ctx, u); err != nil {
		return err
	}
	// No row when the message was deleted already, or was queued by an
	// older twofold that did not record the link.
	return t.exec(ctx, "complete sign-up: mark the link used",
		`UPDATE outbox SET link_used_at = $1 WHERE link_token_hash = $2 AND link_used_at IS NULL`, millis(now), deleted[i].TokenHash)
}

func (t *tx) RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (bool, error) {
	var failures int
	err := t.tx.QueryRow(ctx, `UPDATE pending_signups SET failures = failures + 1 WHERE id = $1 RETURNING failures`, id).Scan(&failures)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // already spent or used
	}
	if err != nil {
		return false, fmt.Errorf("postgres: record sign-up failure: %w", err)
	}
	if failures < spentAt {
		return false, nil
	}
	return true, t.exec(ctx, "record sign-up failure", `DELETE FROM pending_signups WHERE id = $1`, id)
}

func (t *tx) AddEvent(ctx context.Context, e *account.Event) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO security_events (user_id, kind, detail, ip, user_agent, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		e.UserID, string(e.Kind), e.Detail, e.IP, e.UserAgent, millis(e.CreatedAt)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("postgres: add event: %w", err)
	}
	return nil
}

func (t *tx) AddNotification(ctx context.Context, n *account.Notification) error {
	channel, err := rowmap.Channel(n.Channel)
	if err == nil {
		err = t.tx.QueryRow(ctx,
			`INSERT INTO outbox (user_id, recipient, kind, subject, body, created_at, link_token_hash, channel) VALUES (NULLIF($1, 0), $2, $3, $4, $5, $6, NULLIF($7, ''), $8) RETURNING id`,
			n.UserID, n.Recipient, string(n.Kind), n.Subject, n.Body, millis(n.CreatedAt), n.LinkTokenHash, channel).Scan(&n.ID)
	}
	if err != nil {
		return fmt.Errorf("postgres: add notification: %w", err)
	}
	return nil
}

// ReserveAttempts implements account.Store. Transaction-scoped advisory
// locks on the keys (taken in key order, so two reservations never wait
// for each other in a cycle) serialize the counts and the insert across
// every instance, so concurrent attempts cannot both see room for one more.
//
// The statements go as one pipelined batch: one round trip, and one
// implicit transaction (the batch ends with a single Sync), which holds
// the locks until it commits. Under READ COMMITTED each statement takes its
// snapshot when it starts, so the conditional INSERT counts, after the
// locks are held, every attempt committed before it; it inserts a row for
// every key or, when any key is at its limit, none.
func (s *Store) ReserveAttempts(ctx context.Context, now time.Time, limits []account.AttemptLimit) (ids []int64, refused int, oldest time.Time, err error) {
	if ctx.Value(inTx{}) != nil {
		return nil, -1, time.Time{}, errWriteInsideTx
	}
	keys := make([]string, len(limits))
	caps := make([]int32, len(limits))
	since := make([]int64, len(limits))
	for i, l := range limits {
		keys[i], caps[i], since[i] = l.Key, int32(l.Limit), millis(now.Add(-l.Window))
	}
	const limitsSQL = `unnest($1::text[], $2::int[], $3::bigint[]) WITH ORDINALITY AS l(key, cap, since, ord)`
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k ORDER BY k) AS keys`, keys)
	b.Queue(`WITH l AS (SELECT l.key, l.cap, (SELECT count(*) FROM throttle_attempts t WHERE t.key = l.key AND t.attempted_at > l.since) AS n FROM `+limitsSQL+`)
		INSERT INTO throttle_attempts (key, attempted_at)
		SELECT key, $4 FROM l WHERE NOT EXISTS (SELECT 1 FROM l WHERE n >= cap)
		RETURNING id`, keys, caps, since, millis(now))
	b.Queue(`SELECT l.ord, (SELECT min(attempted_at) FROM throttle_attempts t WHERE t.key = l.key AND t.attempted_at > l.since)
		FROM `+limitsSQL+`
		WHERE (SELECT count(*) FROM throttle_attempts t WHERE t.key = l.key AND t.attempted_at > l.since) >= l.cap
		ORDER BY l.ord LIMIT 1`, keys, caps, since)
	refused = -1
	err = func() error {
		br := s.pool.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var ord int64
		var first *int64
		switch err := br.QueryRow().Scan(&ord, &first); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case len(ids) == 0:
			// Only read when nothing was inserted: after an insert a key
			// may be at its limit because of it.
			refused = int(ord) - 1
			if first != nil {
				oldest = fromMillis(*first)
			}
		}
		return br.Close()
	}()
	if err != nil {
		return nil, -1, time.Time{}, fmt.Errorf("postgres: reserve attempts: %w", err)
	}
	if len(ids) == 0 && refused < 0 && len(limits) > 0 {
		// A key was at its limit for the INSERT and an attempt was released
		// before the last query: refused, to be tried again at once.
		refused, oldest = 0, now.Add(-limits[0].Window)
	}
	return ids, refused, oldest, nil
}

// TouchSession implements account.Store.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, now time.Time) error {
	if ctx.Value(inTx{}) != nil {
		return errWriteInsideTx
	}
	if _, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1`,
		millis(now), tokenHash); err != nil {
		return fmt.Errorf("postgres: touch session: %w", err)
	}
	return nil
}
