package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/storetest"
)

// Writes that arrive together share one COMMIT; one of them failing must
// leave the others of its group committed, and each caller must learn its
// own outcome.
func TestGroupCommitKeepsTransactionsApart(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "twofold.db"))
	a := storetest.AutoCommit(s)
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Every email twice: exactly one of each pair is created.
			errs[i] = a.CreateUser(ctx, &account.User{Email: fmt.Sprintf("u%d@example.com", i%(n/2)), Name: "U", PasswordHash: "h", CreatedAt: time.Now()})
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

// A transaction of several writes that fails inside a group is rolled back
// whole (to its savepoint), its statements' effects included, while the
// transactions before and after it in the same COMMIT keep all of theirs.
func TestGroupCommitRollsBackAFailedTransactionWhole(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "twofold.db"))
	owner := &account.User{Email: "owner@example.com", Name: "O", PasswordHash: "h", CreatedAt: time.Now()}
	if err := storetest.AutoCommit(s).CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	errFail := errors.New("fail")
	const n = 200
	fails := func(i int) bool { return i%4 == 1 }
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				u := &account.User{Email: fmt.Sprintf("u%d@example.com", i), Name: "U", PasswordHash: "h", CreatedAt: time.Now()}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if err := tx.AddEvent(ctx, &account.Event{UserID: owner.ID, Kind: account.EventSignUp, Detail: fmt.Sprint(i), CreatedAt: time.Now()}); err != nil {
					return err
				}
				if err := tx.CreateSession(ctx, &account.Session{TokenHash: fmt.Sprintf("s%d", i), UserID: u.ID, Stage: account.StageComplete,
					CreatedAt: time.Now(), LastSeenAt: time.Now(), AuthenticatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
					return err
				}
				if fails(i) {
					return errFail
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := map[string]bool{}
	for i, err := range errs {
		if fails(i) != errors.Is(err, errFail) || (!fails(i) && err != nil) {
			t.Errorf("InTx #%d = %v", i, err)
		}
		if _, err := s.UserByEmail(ctx, fmt.Sprintf("u%d@example.com", i)); (err == nil) == fails(i) {
			t.Errorf("transaction %d (fails %v): user found = %v", i, fails(i), err == nil)
		}
		if _, err := s.SessionByTokenHash(ctx, fmt.Sprintf("s%d", i)); (err == nil) == fails(i) {
			t.Errorf("transaction %d (fails %v): session found = %v", i, fails(i), err == nil)
		}
		if !fails(i) {
			want[fmt.Sprint(i)] = true
		}
	}
	evs, err := s.Events(ctx, owner.ID, 2*n)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if !want[e.Detail] {
			t.Errorf("event of failed transaction %s committed", e.Detail)
		}
		delete(want, e.Detail)
	}
	if len(want) != 0 {
		t.Errorf("%d committed transactions lost their event", len(want))
	}
}

// A write whose caller has already given up is not carried out.
func TestCancelledWriteIsNotRun(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "twofold.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Bool
	err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		ran.Store(true)
		return tx.CreateUser(ctx, &account.User{Email: "late@example.com", Name: "L", PasswordHash: "h"})
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("InTx with a cancelled context = %v; want context.Canceled", err)
	}
	if ran.Load() {
		t.Error("InTx ran fn for a caller that had given up")
	}
	if _, err := s.UserByEmail(context.Background(), "late@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UserByEmail after a cancelled create = %v; want ErrNotFound", err)
	}
	if _, _, _, err := s.ReserveAttempts(ctx, time.Now(), []account.AttemptLimit{{Key: "k", Limit: 1, Window: time.Minute}}); !errors.Is(err, context.Canceled) {
		t.Errorf("ReserveAttempts with a cancelled context = %v; want context.Canceled", err)
	}
}
