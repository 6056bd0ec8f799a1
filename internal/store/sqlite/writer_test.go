package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// Writes that arrive together share one COMMIT; one of them failing must
// leave the others of its group committed, and each caller must learn its
// own outcome.
func TestGroupCommitKeepsTransactionsApart(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "twofold.db"))
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Every email twice: exactly one of each pair is created.
			errs[i] = s.CreateUser(ctx, &account.User{Email: fmt.Sprintf("u%d@example.com", i%(n/2)), Name: "U", PasswordHash: "h", CreatedAt: time.Now()})
		})
	}
	wg.Wait()
	created, taken := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			created++
		case errors.Is(err, account.ErrEmailTaken):
			taken++
		default:
			t.Errorf("CreateUser #%d = %v; want nil or ErrEmailTaken", i, err)
		}
	}
	if created != n/2 || taken != n/2 {
		t.Errorf("created %d, taken %d; want %d each", created, taken, n/2)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != n/2 {
		t.Errorf("ListUsers = %d users, %v; want %d", len(users), err, n/2)
	}
}

// A write whose caller has already given up is not carried out.
func TestCancelledWriteIsNotRun(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "twofold.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.CreateUser(ctx, &account.User{Email: "late@example.com", Name: "L", PasswordHash: "h"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CreateUser with a cancelled context = %v; want context.Canceled", err)
	}
	if _, err := s.UserByEmail(context.Background(), "late@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UserByEmail after a cancelled create = %v; want ErrNotFound", err)
	}
}
