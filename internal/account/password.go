package account

import (
	"context"
	"fmt"
)

// ChangePassword replaces the password of a fully signed-in user who types
// the current one. Every other session of the account ends (whoever holds
// one may be who the change is meant to lock out), this one counts as
// freshly authenticated, and the user is told by email.
//
// Errors: ValidationError (fields "current_password" and "new_password"),
// ErrWrongPassword (counted like any wrong password of the account),
// *ThrottledError, ErrBusy.
func (s *Service) ChangePassword(ctx context.Context, sess *Session, current, next string, c Client) error {
	if sess.Stage != StageComplete {
		return ErrSecondFactorRequired
	}
	if s.EnrollmentDue(sess) {
		return ErrEnrollmentRequired
	}
	var verr ValidationError
	if current == "" {
		verr.add("current_password", "Enter your current password.")
	}
	if msg := passwordProblem(next); msg != "" {
		verr.add("new_password", msg)
	} else if next == current {
		verr.add("new_password", "Choose a password different from your current one.")
	}
	if err := verr.orNil(); err != nil {
		return err
	}
	u, err := s.userOf(ctx, sess)
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	reserved, err := s.checkPassword(ctx, u, current, c)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		s.giveBack(ctx, reserved)
		return mapHasherErr(err)
	}
	// One transaction: the new hash only over the security version the
	// current password was checked against, every other session ended
	// (including any a sign-in with the old password is creating: the
	// version check refuses those), and the record and the email.
	now := s.now()
	err = s.write(ctx, func(ctx context.Context, tx Tx) error {
		if err := releaseAttempts(ctx, tx, reserved); err != nil {
			return err
		}
		if err := tx.ChangePasswordHash(ctx, u.ID, u.SecurityVersion, hash); err != nil {
			return err
		}
		if err := setAuthenticatedAt(ctx, tx, sess, now); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, sess.TokenHash); err != nil {
			return fmt.Errorf("account: end other sessions: %w", err)
		}
		if err := forgetDevices(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := s.cancelRecoveries(ctx, tx, u, cancelledByPassword, c); err != nil {
			return err
		}
		return s.recordAndNotify(ctx, tx, u, EventPasswordChanged, "", c)
	})
	if err != nil {
		return s.fault(ctx, "change password", err, reserved)
	}
	sess.AuthenticatedAt = now
	return nil
}
