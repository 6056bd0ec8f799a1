package accounttest

// Generated from account.Tx's method list: every method of the handle
// counts as one write and can be made to fail.

import (
	"context"
	"time"

	"github.com/twofold/twofold/internal/account"
)

var _ account.Tx = (*faultTx)(nil)

func (t *faultTx) CreateUser(ctx context.Context, u *account.User) error {
	if err := t.write("CreateUser"); err != nil {
		return err
	}
	return t.tx.CreateUser(ctx, u)
}

func (t *faultTx) RequireSecurityVersion(ctx context.Context, userID, version int64) error {
	if err := t.write("RequireSecurityVersion"); err != nil {
		return err
	}
	return t.tx.RequireSecurityVersion(ctx, userID, version)
}

func (t *faultTx) UpdateProfile(ctx context.Context, userID int64, name, mobilePhone *string) error {
	if err := t.write("UpdateProfile"); err != nil {
		return err
	}
	return t.tx.UpdateProfile(ctx, userID, name, mobilePhone)
}

func (t *faultTx) ChangePasswordHash(ctx context.Context, userID, version int64, hash string) error {
	if err := t.write("ChangePasswordHash"); err != nil {
		return err
	}
	return t.tx.ChangePasswordHash(ctx, userID, version, hash)
}

func (t *faultTx) RehashPassword(ctx context.Context, userID int64, verified, hash string) (bool, error) {
	if err := t.write("RehashPassword"); err != nil {
		return false, err
	}
	return t.tx.RehashPassword(ctx, userID, verified, hash)
}

func (t *faultTx) SetPendingTOTP(ctx context.Context, userID int64, secret account.SealedSecret) error {
	if err := t.write("SetPendingTOTP"); err != nil {
		return err
	}
	return t.tx.SetPendingTOTP(ctx, userID, secret)
}

func (t *faultTx) EnableTOTP(ctx context.Context, userID int64, pending account.SealedSecret, step int64, now time.Time) error {
	if err := t.write("EnableTOTP"); err != nil {
		return err
	}
	return t.tx.EnableTOTP(ctx, userID, pending, step, now)
}

func (t *faultTx) AdvanceTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	if err := t.write("AdvanceTOTPStep"); err != nil {
		return false, err
	}
	return t.tx.AdvanceTOTPStep(ctx, userID, step)
}

func (t *faultTx) RecordSecondFactorFailure(ctx context.Context, userID int64, suspendAfter int, now time.Time) (int, bool, error) {
	if err := t.write("RecordSecondFactorFailure"); err != nil {
		return 0, false, err
	}
	return t.tx.RecordSecondFactorFailure(ctx, userID, suspendAfter, now)
}

func (t *faultTx) ClearSecondFactorFailures(ctx context.Context, userID int64, unsuspend bool) error {
	if err := t.write("ClearSecondFactorFailures"); err != nil {
		return err
	}
	return t.tx.ClearSecondFactorFailures(ctx, userID, unsuspend)
}

func (t *faultTx) DisableTOTP(ctx context.Context, userID int64) error {
	if err := t.write("DisableTOTP"); err != nil {
		return err
	}
	return t.tx.DisableTOTP(ctx, userID)
}

func (t *faultTx) ReplaceBackupCodes(ctx context.Context, userID int64, keyID string, hashes []string, now time.Time) error {
	if err := t.write("ReplaceBackupCodes"); err != nil {
		return err
	}
	return t.tx.ReplaceBackupCodes(ctx, userID, keyID, hashes, now)
}

func (t *faultTx) UseBackupCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error) {
	if err := t.write("UseBackupCode"); err != nil {
		return false, err
	}
	return t.tx.UseBackupCode(ctx, userID, hash, now)
}

func (t *faultTx) CreateSession(ctx context.Context, s *account.Session) error {
	if err := t.write("CreateSession"); err != nil {
		return err
	}
	return t.tx.CreateSession(ctx, s)
}

func (t *faultTx) ReplaceSession(ctx context.Context, oldHash string, next *account.Session) error {
	if err := t.write("ReplaceSession"); err != nil {
		return err
	}
	return t.tx.ReplaceSession(ctx, oldHash, next)
}

func (t *faultTx) SetSessionAuthenticatedAt(ctx context.Context, tokenHash string, at time.Time) error {
	if err := t.write("SetSessionAuthenticatedAt"); err != nil {
		return err
	}
	return t.tx.SetSessionAuthenticatedAt(ctx, tokenHash, at)
}

func (t *faultTx) HoldSession(ctx context.Context, tokenHash string) error {
	if err := t.write("HoldSession"); err != nil {
		return err
	}
	return t.tx.HoldSession(ctx, tokenHash)
}

func (t *faultTx) DeleteSession(ctx context.Context, tokenHash string) (*account.Session, error) {
	if err := t.write("DeleteSession"); err != nil {
		return nil, err
	}
	return t.tx.DeleteSession(ctx, tokenHash)
}

func (t *faultTx) DeleteUserSessions(ctx context.Context, userID int64, keepHash string) error {
	if err := t.write("DeleteUserSessions"); err != nil {
		return err
	}
	return t.tx.DeleteUserSessions(ctx, userID, keepHash)
}

func (t *faultTx) ReleaseAttempt(ctx context.Context, id int64) error {
	if err := t.write("ReleaseAttempt"); err != nil {
		return err
	}
	return t.tx.ReleaseAttempt(ctx, id)
}

func (t *faultTx) CreatePendingSignUp(ctx context.Context, p *account.PendingSignUp) error {
	if err := t.write("CreatePendingSignUp"); err != nil {
		return err
	}
	return t.tx.CreatePendingSignUp(ctx, p)
}

func (t *faultTx) CompleteSignUp(ctx context.Context, id int64, now time.Time, u *account.User) error {
	if err := t.write("CompleteSignUp"); err != nil {
		return err
	}
	return t.tx.CompleteSignUp(ctx, id, now, u)
}

func (t *faultTx) RecordSignUpFailure(ctx context.Context, id int64, spentAt int) (bool, error) {
	if err := t.write("RecordSignUpFailure"); err != nil {
		return false, err
	}
	return t.tx.RecordSignUpFailure(ctx, id, spentAt)
}

func (t *faultTx) AddEvent(ctx context.Context, e *account.Event) error {
	if err := t.write("AddEvent"); err != nil {
		return err
	}
	return t.tx.AddEvent(ctx, e)
}

func (t *faultTx) AddNotification(ctx context.Context, n *account.Notification) error {
	if err := t.write("AddNotification"); err != nil {
		return err
	}
	return t.tx.AddNotification(ctx, n)
}

func (t *faultTx) CreateInvitation(ctx context.Context, inv *account.Invitation) error {
	if err := t.write("CreateInvitation"); err != nil {
		return err
	}
	return t.tx.CreateInvitation(ctx, inv)
}

func (t *faultTx) AcceptInvitation(ctx context.Context, id int64, now time.Time) error {
	if err := t.write("AcceptInvitation"); err != nil {
		return err
	}
	return t.tx.AcceptInvitation(ctx, id, now)
}

func (t *faultTx) RevokeInvitation(ctx context.Context, id int64, now time.Time) error {
	if err := t.write("RevokeInvitation"); err != nil {
		return err
	}
	return t.tx.RevokeInvitation(ctx, id, now)
}

func (t *faultTx) LockAdministrators(ctx context.Context) (int, error) {
	if err := t.write("LockAdministrators"); err != nil {
		return 0, err
	}
	return t.tx.LockAdministrators(ctx)
}

func (t *faultTx) SetRole(ctx context.Context, userID int64, role account.Role) error {
	if err := t.write("SetRole"); err != nil {
		return err
	}
	return t.tx.SetRole(ctx, userID, role)
}

func (t *faultTx) SetDeactivated(ctx context.Context, userID int64, at time.Time) error {
	if err := t.write("SetDeactivated"); err != nil {
		return err
	}
	return t.tx.SetDeactivated(ctx, userID, at)
}

func (t *faultTx) UpdateSettings(ctx context.Context, was, next account.Settings) error {
	if err := t.write("UpdateSettings"); err != nil {
		return err
	}
	return t.tx.UpdateSettings(ctx, was, next)
}

func (t *faultTx) AddAudit(ctx context.Context, e *account.AuditEntry) error {
	if err := t.write("AddAudit"); err != nil {
		return err
	}
	return t.tx.AddAudit(ctx, e)
}

func (t *faultTx) CreateDevice(ctx context.Context, d *account.Device) error {
	if err := t.write("CreateDevice"); err != nil {
		return err
	}
	return t.tx.CreateDevice(ctx, d)
}

func (t *faultTx) RotateDevice(ctx context.Context, userID, id int64, oldHash, next string, now time.Time, c account.Client) (bool, error) {
	if err := t.write("RotateDevice"); err != nil {
		return false, err
	}
	return t.tx.RotateDevice(ctx, userID, id, oldHash, next, now, c)
}

func (t *faultTx) ForgetDevice(ctx context.Context, userID, id int64) error {
	if err := t.write("ForgetDevice"); err != nil {
		return err
	}
	return t.tx.ForgetDevice(ctx, userID, id)
}

func (t *faultTx) ForgetDevices(ctx context.Context, userID int64) (int, error) {
	if err := t.write("ForgetDevices"); err != nil {
		return 0, err
	}
	return t.tx.ForgetDevices(ctx, userID)
}

func (t *faultTx) AddHelpRequest(ctx context.Context, r *account.HelpRequest) (bool, error) {
	if err := t.write("AddHelpRequest"); err != nil {
		return false, err
	}
	return t.tx.AddHelpRequest(ctx, r)
}

func (t *faultTx) ResolveHelpRequests(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	if err := t.write("ResolveHelpRequests"); err != nil {
		return 0, err
	}
	return t.tx.ResolveHelpRequests(ctx, userID, by, now)
}

func (t *faultTx) CreatePhoneVerification(ctx context.Context, v *account.PhoneVerification) error {
	if err := t.write("CreatePhoneVerification"); err != nil {
		return err
	}
	return t.tx.CreatePhoneVerification(ctx, v)
}

func (t *faultTx) FailPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	if err := t.write("FailPhoneVerification"); err != nil {
		return false, err
	}
	return t.tx.FailPhoneVerification(ctx, id, tries, now)
}

func (t *faultTx) VerifyPhoneVerification(ctx context.Context, id int64, tries int, now time.Time) (bool, error) {
	if err := t.write("VerifyPhoneVerification"); err != nil {
		return false, err
	}
	return t.tx.VerifyPhoneVerification(ctx, id, tries, now)
}

func (t *faultTx) ConsumePhoneVerification(ctx context.Context, userID int64, purpose string, since, now time.Time) (bool, error) {
	if err := t.write("ConsumePhoneVerification"); err != nil {
		return false, err
	}
	return t.tx.ConsumePhoneVerification(ctx, userID, purpose, since, now)
}

func (t *faultTx) CreateRecovery(ctx context.Context, r *account.Recovery) (bool, error) {
	if err := t.write("CreateRecovery"); err != nil {
		return false, err
	}
	return t.tx.CreateRecovery(ctx, r)
}

func (t *faultTx) CompleteRecovery(ctx context.Context, id int64, now time.Time) (bool, error) {
	if err := t.write("CompleteRecovery"); err != nil {
		return false, err
	}
	return t.tx.CompleteRecovery(ctx, id, now)
}

func (t *faultTx) CancelRecovery(ctx context.Context, id int64, by string, now time.Time) (bool, error) {
	if err := t.write("CancelRecovery"); err != nil {
		return false, err
	}
	return t.tx.CancelRecovery(ctx, id, by, now)
}

func (t *faultTx) CancelRecoveries(ctx context.Context, userID int64, by string, now time.Time) (int, error) {
	if err := t.write("CancelRecoveries"); err != nil {
		return 0, err
	}
	return t.tx.CancelRecoveries(ctx, userID, by, now)
}

func (t *faultTx) CancelAllRecoveries(ctx context.Context, by string, now time.Time) ([]int64, error) {
	if err := t.write("CancelAllRecoveries"); err != nil {
		return nil, err
	}
	return t.tx.CancelAllRecoveries(ctx, by, now)
}
