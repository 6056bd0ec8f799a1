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
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	if err := s.verifyPassword(ctx, u, current, c); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return mapHasherErr(err)
	}
	if err := s.store.UpdatePasswordHash(ctx, sess.UserID, hash); err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	if err := s.store.DeleteUserSessions(ctx, sess.UserID, sess.TokenHash); err != nil {
		return fmt.Errorf("account: change password: end other sessions: %w", err)
	}
	now := s.now()
	if err := s.store.SetSessionAuthenticatedAt(ctx, sess.TokenHash, now); err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	sess.AuthenticatedAt = now
	s.recordAndNotify(ctx, u, EventPasswordChanged, "", c)
	return nil
}
