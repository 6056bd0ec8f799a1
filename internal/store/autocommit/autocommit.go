// Package autocommit runs each write of an account.Tx as a transaction of
// its own, for tests and tools that set up state one write at a time. The
// account service never uses it: its use cases commit once each, through
// InTx.
package autocommit

import (
	"context"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// Store is a store whose Tx methods each run as a transaction of their own,
// for tests and tools that set up state one write at a time. The account
// service never uses it: its use cases commit once each, through InTx.
type Store struct {
	account.Store
}

var _ account.Tx = Store{}

// Wrap wraps s.
func Wrap(s account.Store) Store { return Store{s} }

func (a Store) CreateUser(ctx context.Context, u *account.User) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateUser(ctx, u) })
}

func (a Store) RequireSecurityVersion(ctx context.Context, userID, version int64) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.RequireSecurityVersion(ctx, userID, version) })
}

func (a Store) UpdateProfile(ctx context.Context, userID int64, name, mobilePhone *string) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		return tx.UpdateProfile(ctx, userID, name, mobilePhone)
	})
}

func (a Store) ChangePasswordHash(ctx context.Context, userID, version int64, hash string) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		return tx.ChangePasswordHash(ctx, userID, version, hash)
	})
}

func (a Store) RehashPassword(ctx context.Context, userID int64, verified, hash string) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.RehashPassword(ctx, userID, verified, hash)
		return err
	})
	return r0, err
}

func (a Store) SetPendingTOTP(ctx context.Context, userID int64, secret account.SealedSecret) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.SetPendingTOTP(ctx, userID, secret) })
}

func (a Store) EnableTOTP(ctx context.Context, userID int64, pending account.SealedSecret, step int64, now time.Time) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.EnableTOTP(ctx, userID, pending, step, now) })
}

func (a Store) AdvanceTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.AdvanceTOTPStep(ctx, userID, step)
		return err
	})
	return r0, err
}

func (a Store) RecordSecondFactorFailure(ctx context.Context, userID int64, suspendAfter int, now time.Time) (int, bool, error) {
	var r0 int
	var r1 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, r1, err = tx.RecordSecondFactorFailure(ctx, userID, suspendAfter, now)
		return err
	})
	return r0, r1, err
}

func (a Store) ClearSecondFactorFailures(ctx context.Context, userID int64, unsuspend bool) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		return tx.ClearSecondFactorFailures(ctx, userID, unsuspend)
	})
}

func (a Store) DisableTOTP(ctx context.Context, userID int64) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.DisableTOTP(ctx, userID) })
}

func (a Store) ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		return tx.ReplaceBackupCodes(ctx, userID, keyID, hashes, now)
	})
}

func (a Store) UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.UseBackupCode(ctx, userID, hash, now)
		return err
	})
	return r0, err
}

func (a Store) CreateSession(ctx context.Context, s *account.Session) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateSession(ctx, s) })
}

func (a Store) ReplaceSession(ctx context.Context, oldHash string, next *account.Session) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.ReplaceSession(ctx, oldHash, next) })
}

func (a Store) SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		return tx.SetSessionAuthenticatedAt(ctx, tokenHash, at)
	})
}

func (a Store) HoldSession(ctx context.Context, tokenHash string) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.HoldSession(ctx, tokenHash) })
}

func (a Store) DeleteSession(ctx context.Context, tokenHash string) (*account.Session, error) {
	var r0 *account.Session
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.DeleteSession(ctx, tokenHash)
		return err
	})
	return r0, err
}

func (a Store) DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.DeleteUserSessions(ctx, userID, keepHash) })
}

func (a Store) ReleaseAttempt(ctx context.Context, id int64) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.ReleaseAttempt(ctx, id) })
}

func (a Store) CreatePendingSignUp(ctx context.Context, p *account.PendingSignUp) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreatePendingSignUp(ctx, p) })
}

func (a Store) CompleteSignUp(ctx context.Context, id int64, now time.Time, u *account.User) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CompleteSignUp(ctx, id, now, u) })
}

func (a Store) RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (bool, error) {
	var r0 bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		r0, err = tx.RecordSignUpFailure(ctx, id, spentAt)
		return err
	})
	return r0, err
}

func (a Store) AddEvent(ctx context.Context, e *account.Event) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.AddEvent(ctx, e) })
}

func (a Store) AddNotification(ctx context.Context, n *account.Notification) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.AddNotification(ctx, n) })
}

func (a Store) CreateInvitation(ctx context.Context, inv *account.Invitation) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateInvitation(ctx, inv) })
}

func (a Store) AcceptInvitation(ctx context.Context, id int64, now time.Time) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.AcceptInvitation(ctx, id, now) })
}

func (a Store) RevokeInvitation(ctx context.Context, id int64, now time.Time) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.RevokeInvitation(ctx, id, now) })
}

func (a Store) LockAdministrators(ctx context.Context) (int, error) {
	var n int
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		n, err = tx.LockAdministrators(ctx)
		return err
	})
	return n, err
}

func (a Store) SetRole(ctx context.Context, userID int64, role account.Role) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.SetRole(ctx, userID, role) })
}

func (a Store) SetDeactivated(ctx context.Context, userID int64, at time.Time) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.SetDeactivated(ctx, userID, at) })
}

func (a Store) UpdateSettings(ctx context.Context, was, next account.Settings) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.UpdateSettings(ctx, was, next) })
}

func (a Store) AddAudit(ctx context.Context, e *account.AuditEntry) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.AddAudit(ctx, e) })
}

func (a Store) CreateDevice(ctx context.Context, d *account.Device) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreateDevice(ctx, d) })
}

func (a Store) RotateDevice(ctx context.Context, userID, id int64, oldHash, next string, now time.Time, c account.Client) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.RotateDevice(ctx, userID, id, oldHash, next, now, c)
		return err
	})
	return ok, err
}

func (a Store) ForgetDevice(ctx context.Context, userID, id int64) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.ForgetDevice(ctx, userID, id) })
}

func (a Store) ForgetDevices(ctx context.Context, userID int64) (int, error) {
	var n int
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		n, err = tx.ForgetDevices(ctx, userID)
		return err
	})
	return n, err
}

func (a Store) AddHelpRequest(ctx context.Context, r *account.HelpRequest) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.AddHelpRequest(ctx, r)
		return err
	})
	return ok, err
}

func (a Store) ResolveHelpRequests(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	var n int
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		n, err = tx.ResolveHelpRequests(ctx, userID, by, now)
		return err
	})
	return n, err
}

func (a Store) CreatePhoneVerification(ctx context.Context, v *account.PhoneVerification) error {
	return a.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.CreatePhoneVerification(ctx, v) })
}

func (a Store) FailPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.FailPhoneVerification(ctx, id, tries, now)
		return err
	})
	return ok, err
}

func (a Store) VerifyPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.VerifyPhoneVerification(ctx, id, tries, now)
		return err
	})
	return ok, err
}

func (a Store) ConsumePhoneVerification(ctx context.Context, userID int64, purpose string, since, now time.Time) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.ConsumePhoneVerification(ctx, userID, purpose, since, now)
		return err
	})
	return ok, err
}

func (a Store) CreateRecovery(ctx context.Context, r *account.Recovery) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.CreateRecovery(ctx, r)
		return err
	})
	return ok, err
}

func (a Store) CompleteRecovery(ctx context.Context, id int64, now time.Time) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.CompleteRecovery(ctx, id, now)
		return err
	})
	return ok, err
}

func (a Store) CancelRecovery(ctx context.Context, id int64, by string, now time.Time) (bool, error) {
	var ok bool
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ok, err = tx.CancelRecovery(ctx, id, by, now)
		return err
	})
	return ok, err
}

func (a Store) CancelRecoveries(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	var n int
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		n, err = tx.CancelRecoveries(ctx, userID, by, now)
		return err
	})
	return n, err
}

func (a Store) CancelAllRecoveries(ctx context.Context, by string, now time.Time) ([]int64, error) {
	var ids []int64
	err := a.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		var err error
		ids, err = tx.CancelAllRecoveries(ctx, by, now)
		return err
	})
	return ids, err
}
