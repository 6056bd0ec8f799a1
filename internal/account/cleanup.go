package account

import (
	"context"
	"fmt"
)

// DeleteExpired removes sessions past their timeouts and throttle attempts
// that no window counts any more. Every instance may run it at any time.
func (s *Service) DeleteExpired(ctx context.Context) error {
	now := s.now()
	window := max(s.policy.CodeWindow, s.policy.PasswordWindow)
	if err := s.store.DeleteExpired(ctx, now, now.Add(-s.policy.SessionIdle), now.Add(-window)); err != nil {
		return fmt.Errorf("account: delete expired: %w", err)
	}
	return nil
}
