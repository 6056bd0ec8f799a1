package account

import (
	"context"
	"fmt"
)

// DeleteExpired removes sessions past their timeouts, expired sign-up links
// and throttle attempts that no window counts any more. Every instance may run it at any time.
func (s *Service) DeleteExpired(ctx context.Context) error {
	now := s.now()
	// Attempts are kept as long as the longest window that counts them.
	window := max(s.policy.CodeWindow, s.policy.PasswordWindow, s.policy.SignUpWindow, s.policy.SignUpLinkTTL)
	if err := s.store.DeleteExpired(ctx, now, now.Add(-s.policy.SessionIdle), now.Add(-s.policy.SignUpLinkTTL), now.Add(-window)); err != nil {
		return fmt.Errorf("account: delete expired: %w", err)
	}
	return nil
}
