package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// The statements of account.Tx. All are prepared at Open: the write pool's
// one connection is held by the transaction that runs them, so none can
// be prepared from inside one (see stmtCache).
const (
	insertUserSQL      = `INSERT INTO users (email, name, mobile_phone, password_hash, created_at, role) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
	securityVersionSQL = `SELECT security_version FROM users WHERE id = ?`
	updateProfileSQL   = `UPDATE users SET name = COALESCE(?1, name), mobile_phone = COALESCE(?2, mobile_phone), security_version = security_version + CASE WHEN ?2 IS NOT NULL AND mobile_phone <> ?2 THEN 1 ELSE 0 END WHERE id = ?3 AND (?2 IS NULL OR ?2 <> '' OR totp_enabled_at IS NULL)`
	changePasswordSQL  = `UPDATE users SET password_hash = ?, security_version = security_version + 1 WHERE id = ? AND security_version = ?`
	rehashPasswordSQL  = `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`
	setPendingTOTPSQL  = `UPDATE users SET totp_pending_key_id = ?, totp_pending_secret = ? WHERE id = ? AND totp_enabled_at IS NULL`
	enableTOTPSQL      = `UPDATE users SET totp_key_id = totp_pending_key_id, totp_secret = totp_pending_secret,
			totp_last_step = ?, totp_enabled_at = ?, totp_pending_key_id = NULL, totp_pending_secret = NULL,
			totp_failures = 0, totp_suspended_at = NULL, security_version = security_version + 1
		WHERE id = ? AND totp_enabled_at IS NULL AND totp_pending_key_id = ? AND totp_pending_secret = ? AND mobile_phone <> ''`
	advanceTOTPStepSQL = `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_enabled_at IS NOT NULL AND totp_suspended_at IS NULL AND totp_last_step < ?`
	recordFailureSQL   = `UPDATE users SET totp_failures = totp_failures + 1,
			totp_suspended_at = CASE WHEN totp_suspended_at IS NULL AND totp_failures + 1 >= ? THEN ? ELSE totp_suspended_at END
		WHERE id = ? RETURNING totp_failures`
	clearFailuresSQL = `UPDATE users SET totp_failures = 0, totp_suspended_at = CASE WHEN ? THEN NULL ELSE totp_suspended_at END WHERE id = ?`
	disableTOTPSQL   = `UPDATE users SET totp_key_id = NULL, totp_secret = NULL, totp_enabled_at = NULL,
			totp_pending_key_id = NULL, totp_pending_secret = NULL, totp_failures = 0, totp_suspended_at = NULL,
			security_version = security_version + 1
		WHERE id = ?`
	deleteBackupCodesSQL = `DELETE FROM backup_codes WHERE user_id = ?`
	bumpIfTwoFactorSQL   = `UPDATE users SET security_version = security_version + 1 WHERE id = ? AND totp_enabled_at IS NOT NULL`
	insertBackupCodeSQL  = `INSERT INTO backup_codes (user_id, key_id, code_hash, created_at) VALUES (?, ?, ?, ?)`
	useBackupCodeSQL     = `UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`
	insertSessionSQL     = `INSERT INTO sessions (` + rowmap.SessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	deleteSessionSQL     = `DELETE FROM sessions WHERE token_hash = ?`
	deleteSessionRetSQL  = `DELETE FROM sessions WHERE token_hash = ? RETURNING ` + rowmap.SessionColumns
	setAuthenticatedSQL  = `UPDATE sessions SET authenticated_at = ? WHERE token_hash = ?`
	holdSessionSQL       = `SELECT 1 FROM sessions WHERE token_hash = ?`
	deleteUserSessSQL    = `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`
	releaseAttemptSQL    = `DELETE FROM throttle_attempts WHERE id = ?`
	insertPendingSQL     = `INSERT INTO pending_signups (token_hash, email, name, mobile_phone, password_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`
	takePendingSQL     = `DELETE FROM pending_signups WHERE id = ? AND expires_at > ? RETURNING token_hash`
	markLinkUsedSQL    = `UPDATE outbox SET link_used_at = ? WHERE link_token_hash = ? AND link_used_at IS NULL`
	deletePendingSQL   = `DELETE FROM pending_signups WHERE email = ?`
	countSignUpFailSQL = `UPDATE pending_signups SET failures = failures + 1 WHERE id = ? RETURNING failures`
	spendPendingSQL    = `DELETE FROM pending_signups WHERE id = ?`
	insertEventSQL     = `INSERT INTO security_events (user_id, kind, detail, ip, user_agent, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
	insertNotifySQL    = `INSERT INTO outbox (user_id, recipient, kind, subject, body, created_at, link_token_hash, channel) VALUES (NULLIF(?, 0), ?, ?, ?, ?, ?, NULLIF(?, ''), ?) RETURNING id`
	countAttemptsSQL   = `SELECT count(*), min(attempted_at) FROM throttle_attempts WHERE key = ? AND attempted_at > ?`
	insertAttemptSQL   = `INSERT INTO throttle_attempts (key, attempted_at) VALUES (?, ?) RETURNING id`
	touchSessionSQL    = `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?`
)

// txStatements are prepared at Open.
var txStatements = []string{
	insertUserSQL, securityVersionSQL, updateProfileSQL, changePasswordSQL, rehashPasswordSQL, setPendingTOTPSQL,
	enableTOTPSQL, advanceTOTPStepSQL, recordFailureSQL, clearFailuresSQL, disableTOTPSQL, deleteBackupCodesSQL,
	bumpIfTwoFactorSQL, insertBackupCodeSQL, useBackupCodeSQL, insertSessionSQL, deleteSessionSQL, deleteSessionRetSQL,
	setAuthenticatedSQL, holdSessionSQL, deleteUserSessSQL, releaseAttemptSQL, insertPendingSQL, takePendingSQL,
	deletePendingSQL, countSignUpFailSQL, spendPendingSQL, insertEventSQL, insertNotifySQL, countAttemptsSQL,
	insertAttemptSQL, touchSessionSQL, markLinkUsedSQL,
	insertInvitationSQL, acceptInvitationSQL, revokeInvitationSQL, countAdminsSQL, setRoleSQL, setDeactivatedSQL, updateSettingsSQL, insertAuditSQL,
	insertDeviceSQL, rotateDeviceSQL, forgetDeviceSQL, forgetDevicesSQL,
	insertHelpRequestSQL, resolveHelpRequestsSQL, insertVerificationSQL, failVerificationSQL, verifyVerificationSQL, consumeVerificationSQL,
	insertRecoverySQL, completeRecoverySQL, cancelRecoverySQL, cancelRecoveriesSQL,
}

// InTx implements account.Store: fn runs in one write transaction of the
// group writer (its own SAVEPOINT when it shares a COMMIT with others).
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx account.Tx) error) error {
	return s.inTx(ctx, func(ctx context.Context, sqlTx *sql.Tx) error {
		return fn(ctx, &tx{s: s, tx: sqlTx})
	})
}

// tx is account.Tx on the write connection's transaction. SQLite runs one
// write transaction at a time (BEGIN IMMEDIATE takes the file's write
// lock, for every process on the file), so a read inside it sees the
// latest committed state and nothing can change it before the commit.
type tx struct {
	s  *Store
	tx *sql.Tx
}

var _ account.Tx = (*tx)(nil)

func (t *tx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.s.txExec(ctx, t.tx, query, args...)
	if err != nil {
		return 0, err
	}
	return affected(res)
}

func (t *tx) row(ctx context.Context, query string, args ...any) *sql.Row {
	return t.s.txQueryRow(ctx, t.tx, query, args...)
}

// one runs a statement that must change one row: ifNone when it changed none.
func (t *tx) one(ctx context.Context, what string, ifNone error, query string, args ...any) error {
	n, err := t.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", what, ifNone)
	}
	return nil
}

func (t *tx) CreateUser(ctx context.Context, u *account.User) error {
	if u.Role == "" {
		u.Role = account.RoleMember
	}
	err := t.row(ctx, insertUserSQL, u.Email, u.Name, u.MobilePhone, u.PasswordHash, millis(u.CreatedAt), string(u.Role)).Scan(&u.ID)
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed: users.email") {
		return account.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

func (t *tx) RequireSecurityVersion(ctx context.Context, userID, version int64) error {
	var current int64
	if err := t.row(ctx, securityVersionSQL, userID).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: security version of user %d: %w", userID, notFound(err))
	}
	if current != version {
		return fmt.Errorf("sqlite: security version of user %d is %d, not %d: %w", userID, current, version, account.ErrStale)
	}
	return nil
}

func (t *tx) UpdateProfile(ctx context.Context, userID int64, name, mobilePhone *string) error {
	err := t.one(ctx, "update profile", account.ErrNotFound, updateProfileSQL, name, mobilePhone, userID)
	if mobilePhone != nil && *mobilePhone == "" && errors.Is(err, account.ErrNotFound) {
		// No row changed: there is no such user, or 2FA is on. The write
		// transaction excludes every other, so the row is as the UPDATE saw it.
		var v int64
		switch err := t.row(ctx, securityVersionSQL, userID).Scan(&v); {
		case err == nil:
			return fmt.Errorf("sqlite: update profile: %w", account.ErrTwoFactorEnabled)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: update profile: %w", err)
		}
	}
	return err
}

func (t *tx) ChangePasswordHash(ctx context.Context, userID, version int64, hash string) error {
	return t.one(ctx, "change password hash", account.ErrStale, changePasswordSQL, hash, userID, version)
}

func (t *tx) RehashPassword(ctx context.Context, userID int64, verified, hash string) (bool, error) {
	n, err := t.exec(ctx, rehashPasswordSQL, hash, userID, verified)
	if err != nil {
		return false, fmt.Errorf("sqlite: rehash password: %w", err)
	}
	return n == 1, nil
}

func (t *tx) SetPendingTOTP(ctx context.Context, userID int64, secret account.SealedSecret) error {
	return t.one(ctx, "set pending totp", account.ErrTwoFactorEnabled, setPendingTOTPSQL, secret.KeyID, secret.Ciphertext, userID)
}

func (t *tx) EnableTOTP(ctx context.Context, userID int64, pending account.SealedSecret, step int64, now time.Time) error {
	return t.one(ctx, "enable totp", account.ErrConflict, enableTOTPSQL, step, millis(now), userID, pending.KeyID, pending.Ciphertext)
}

func (t *tx) AdvanceTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	n, err := t.exec(ctx, advanceTOTPStepSQL, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("sqlite: advance totp step: %w", err)
	}
	return n == 1, nil
}

func (t *tx) RecordSecondFactorFailure(ctx context.Context, userID int64, suspendAfter int, now time.Time) (int, bool, error) {
	var failures int
	if err := t.row(ctx, recordFailureSQL, suspendAfter, millis(now), userID).Scan(&failures); err != nil {
		return 0, false, fmt.Errorf("sqlite: record second factor failure: %w", notFound(err))
	}
	return failures, failures == suspendAfter, nil
}

func (t *tx) ClearSecondFactorFailures(ctx context.Context, userID int64, unsuspend bool) error {
	if _, err := t.exec(ctx, clearFailuresSQL, unsuspend, userID); err != nil {
		return fmt.Errorf("sqlite: clear second factor failures: %w", err)
	}
	return nil
}

func (t *tx) DisableTOTP(ctx context.Context, userID int64) error {
	if err := t.one(ctx, "disable totp", account.ErrNotFound, disableTOTPSQL, userID); err != nil {
		return err
	}
	if _, err := t.exec(ctx, deleteBackupCodesSQL, userID); err != nil {
		return fmt.Errorf("sqlite: disable totp: delete backup codes: %w", err)
	}
	return nil
}

func (t *tx) ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error {
	if err := t.one(ctx, "replace backup codes", account.ErrTwoFactorNotEnabled, bumpIfTwoFactorSQL, userID); err != nil {
		return err
	}
	if _, err := t.exec(ctx, deleteBackupCodesSQL, userID); err != nil {
		return fmt.Errorf("sqlite: replace backup codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := t.exec(ctx, insertBackupCodeSQL, userID, keyID, h, millis(now)); err != nil {
			return fmt.Errorf("sqlite: replace backup codes: %w", err)
		}
	}
	return nil
}

func (t *tx) UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error) {
	n, err := t.exec(ctx, useBackupCodeSQL, millis(now), userID, hash)
	if err != nil {
		return false, fmt.Errorf("sqlite: use backup code: %w", err)
	}
	return n == 1, nil
}

func (t *tx) insertSession(ctx context.Context, sess *account.Session) error {
	_, err := t.exec(ctx, insertSessionSQL,
		sess.TokenHash, sess.UserID, string(sess.Stage), millis(sess.CreatedAt), millis(sess.LastSeenAt),
		millis(sess.AuthenticatedAt), millis(sess.ExpiresAt), sess.IP, sess.UserAgent, sess.SecondFactor)
	return err
}

func (t *tx) CreateSession(ctx context.Context, sess *account.Session) error {
	if err := t.insertSession(ctx, sess); err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

func (t *tx) ReplaceSession(ctx context.Context, oldHash string, next *account.Session) error {
	if err := t.one(ctx, "replace session", account.ErrNotFound, deleteSessionSQL, oldHash); err != nil {
		return err
	}
	if err := t.insertSession(ctx, next); err != nil {
		return fmt.Errorf("sqlite: replace session: %w", err)
	}
	return nil
}

func (t *tx) SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error {
	return t.one(ctx, "set session authenticated_at", account.ErrNotFound, setAuthenticatedSQL, millis(at), tokenHash)
}

func (t *tx) HoldSession(ctx context.Context, tokenHash string) error {
	var one int
	if err := t.row(ctx, holdSessionSQL, tokenHash).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: hold session: %w", notFound(err))
	}
	return nil
}

func (t *tx) DeleteSession(ctx context.Context, tokenHash string) (*account.Session, error) {
	sess, err := rowmap.ScanSession(t.row(ctx, deleteSessionRetSQL, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete session: %w", notFound(err))
	}
	return sess, nil
}

func (t *tx) DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error {
	if _, err := t.exec(ctx, deleteUserSessSQL, userID, keepHash); err != nil {
		return fmt.Errorf("sqlite: delete user sessions: %w", err)
	}
	return nil
}

func (t *tx) ReleaseAttempt(ctx context.Context, id int64) error {
	if _, err := t.exec(ctx, releaseAttemptSQL, id); err != nil {
		return fmt.Errorf("sqlite: release attempt: %w", err)
	}
	return nil
}

func (t *tx) CreatePendingSignUp(ctx context.Context, p *account.PendingSignUp) error {
	err := t.row(ctx, insertPendingSQL,
		p.TokenHash, p.Email, p.Name, p.MobilePhone, p.PasswordHash, millis(p.CreatedAt), millis(p.ExpiresAt)).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("sqlite: create pending sign-up: %w", err)
	}
	return nil
}

func (t *tx) CompleteSignUp(ctx context.Context, id int64, now time.Time, u *account.User) error {
	var tokenHash string
	if err := t.row(ctx, takePendingSQL, id, millis(now)).Scan(&tokenHash); err != nil {
		return fmt.Errorf("sqlite: complete sign-up: %w", notFound(err))
	}
	if err := t.CreateUser(ctx, u); err != nil {
		return err
	}
	if _, err := t.exec(ctx, deletePendingSQL, u.Email); err != nil {
		return fmt.Errorf("sqlite: complete sign-up: %w", err)
	}
	// No row when the message was deleted already, or was queued by an
	// older twofold that did not record the link.
	if _, err := t.exec(ctx, markLinkUsedSQL, millis(now), tokenHash); err != nil {
		return fmt.Errorf("sqlite: complete sign-up: mark the link used: %w", err)
	}
	return nil
}

func (t *tx) RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (bool, error) {
	var failures int
	err := t.row(ctx, countSignUpFailSQL, id).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // already spent or used
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: record sign-up failure: %w", err)
	}
	if failures < spentAt {
		return false, nil
	}
	if _, err := t.exec(ctx, spendPendingSQL, id); err != nil {
		return false, fmt.Errorf("sqlite: record sign-up failure: %w", err)
	}
	return true, nil
}

func (t *tx) AddEvent(ctx context.Context, e *account.Event) error {
	err := t.row(ctx, insertEventSQL, e.UserID, string(e.Kind), e.Detail, e.IP, e.UserAgent, millis(e.CreatedAt)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("sqlite: add event: %w", err)
	}
	return nil
}

func (t *tx) AddNotification(ctx context.Context, n *account.Notification) error {
	channel, err := rowmap.Channel(n.Channel)
	if err == nil {
		err = t.row(ctx, insertNotifySQL, n.UserID, n.Recipient, string(n.Kind), n.Subject, n.Body, millis(n.CreatedAt), n.LinkTokenHash, channel).Scan(&n.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: add notification: %w", err)
	}
	return nil
}

// ReserveAttempts implements account.Store. The counts and the inserts run
// in one IMMEDIATE transaction, which holds the database's write lock, so
// concurrent attempts (from any process on this file) cannot both see room
// for one more.
func (s *Store) ReserveAttempts(ctx context.Context, now time.Time, limits []account.AttemptLimit) (ids []int64, refused int, oldest time.Time, err error) {
	err = s.inTx(ctx, func(ctx context.Context, sqlTx *sql.Tx) error {
		t := &tx{s: s, tx: sqlTx}
		ids, refused, oldest = nil, -1, time.Time{}
		for i, l := range limits {
			var n int
			var first sql.NullInt64
			if err := t.row(ctx, countAttemptsSQL, l.Key, millis(now.Add(-l.Window))).Scan(&n, &first); err != nil {
				return err
			}
			if n >= l.Limit {
				refused, oldest = i, fromMillis(first.Int64)
				return nil
			}
		}
		for _, l := range limits {
			var id int64
			if err := t.row(ctx, insertAttemptSQL, l.Key, millis(now)).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, -1, time.Time{}, fmt.Errorf("sqlite: reserve attempts: %w", err)
	}
	return ids, refused, oldest, nil
}

// TouchSession implements account.Store.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, sqlTx *sql.Tx) error {
		_, err := s.txExec(ctx, sqlTx, touchSessionSQL, millis(now), tokenHash, millis(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}
