package accounttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// ErrInjected is the fault a FaultStore injects.
var ErrInjected = errors.New("accounttest: injected fault")

// FaultStore wraps a Store to count what the service does with it and to
// make it fail: reads (every read method), writes (every method of the
// transaction handle, and the Store's own writes) and commits (InTx calls
// that committed, and the Store's own writes). FailWrite makes the Nth
// write fail; FailCommit makes the Nth InTx fail after its function
// returned nil, as a failed COMMIT would (the store rolls it back).
type FaultStore struct {
	Store

	mu         sync.Mutex
	reads      int
	writes     int
	commits    int
	txs        int
	failWrite  int
	failCommit int
	ops        []string
	beforeTx   func()
}

// BeforeNextTx runs fn once, just before the next InTx begins: another
// request's change landing between a use case's reads and its write.
func (f *FaultStore) BeforeNextTx(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beforeTx = fn
}

// NewFaultStore wraps s.
func NewFaultStore(s Store) *FaultStore { return &FaultStore{Store: s} }

// Counts is what a FaultStore saw since its last Reset.
type Counts struct {
	Reads, Writes, Commits int
	// Ops names each read, write and commit in order ("read SessionByTokenHash",
	// "write AdvanceTOTPStep", "commit"), for failure messages.
	Ops []string
}

// Reset zeroes the counts and sets the faults: the failWrite-th write and
// the failCommit-th transaction fail (0: none).
func (f *FaultStore) Reset(failWrite, failCommit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads, f.writes, f.commits, f.txs, f.failWrite, f.failCommit, f.ops = 0, 0, 0, 0, failWrite, failCommit, nil
}

// Counts returns the counts since the last Reset.
func (f *FaultStore) Counts() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Counts{Reads: f.reads, Writes: f.writes, Commits: f.commits, Ops: append([]string(nil), f.ops...)}
}

func (f *FaultStore) read(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	f.ops = append(f.ops, "read "+what)
}

// write counts one write and says whether it is the one to fail.
func (f *FaultStore) write(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	f.ops = append(f.ops, "write "+what)
	if f.writes == f.failWrite {
		return fmt.Errorf("%s: %w", what, ErrInjected)
	}
	return nil
}

func (f *FaultStore) committed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commits++
	f.ops = append(f.ops, "commit")
}

// UserByID implements account.Store.
func (f *FaultStore) UserByID(ctx context.Context, id int64) (*account.User, error) {
	f.read("UserByID")
	return f.Store.UserByID(ctx, id)
}

// UserByEmail implements account.Store.
func (f *FaultStore) UserByEmail(ctx context.Context, email string) (*account.User, error) {
	f.read("UserByEmail")
	return f.Store.UserByEmail(ctx, email)
}

// ListUsers implements account.Store.
func (f *FaultStore) ListUsers(ctx context.Context) ([]*account.User, error) {
	f.read("ListUsers")
	return f.Store.ListUsers(ctx)
}

// SessionByTokenHash implements account.Store.
func (f *FaultStore) SessionByTokenHash(ctx context.Context, tokenHash string) (*account.Session, error) {
	f.read("SessionByTokenHash")
	return f.Store.SessionByTokenHash(ctx, tokenHash)
}

// PendingSignUpByTokenHash implements account.Store.
func (f *FaultStore) PendingSignUpByTokenHash(ctx context.Context, tokenHash string) (*account.PendingSignUp, error) {
	f.read("PendingSignUpByTokenHash")
	return f.Store.PendingSignUpByTokenHash(ctx, tokenHash)
}

// Events implements account.Store.
func (f *FaultStore) Events(ctx context.Context, userID int64, limit int) ([]*account.Event, error) {
	f.read("Events")
	return f.Store.Events(ctx, userID, limit)
}

// InTx implements account.Store: fn gets a handle whose every method counts
// as a write and may fail.
func (f *FaultStore) InTx(ctx context.Context, fn func(ctx context.Context, tx account.Tx) error) error {
	f.mu.Lock()
	f.txs++
	failThis := f.txs == f.failCommit
	before := f.beforeTx
	f.beforeTx = nil
	f.mu.Unlock()
	if before != nil {
		before()
	}
	err := f.Store.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		if err := fn(ctx, &faultTx{tx: tx, write: f.write}); err != nil {
			return err
		}
		if failThis {
			return fmt.Errorf("commit: %w", ErrInjected)
		}
		return nil
	})
	if err == nil {
		f.committed()
	}
	return err
}

// ReserveAttempts implements account.Store: one write and one commit.
func (f *FaultStore) ReserveAttempts(ctx context.Context, now time.Time, limits []account.AttemptLimit) ([]int64, int, time.Time, error) {
	if err := f.write("ReserveAttempts"); err != nil {
		return nil, -1, time.Time{}, err
	}
	ids, refused, oldest, err := f.Store.ReserveAttempts(ctx, now, limits)
	if err == nil {
		f.committed()
	}
	return ids, refused, oldest, err
}

// TouchSession implements account.Store: one write and one commit.
func (f *FaultStore) TouchSession(ctx context.Context, tokenHash string, now time.Time) error {
	if err := f.write("TouchSession"); err != nil {
		return err
	}
	err := f.Store.TouchSession(ctx, tokenHash, now)
	if err == nil {
		f.committed()
	}
	return err
}

// DeleteExpired implements account.Store: one write and one commit.
func (f *FaultStore) DeleteExpired(ctx context.Context, now, idleBefore, linksBefore, attemptsBefore time.Time) error {
	if err := f.write("DeleteExpired"); err != nil {
		return err
	}
	err := f.Store.DeleteExpired(ctx, now, idleBefore, linksBefore, attemptsBefore)
	if err == nil {
		f.committed()
	}
	return err
}

// faultTx is the handle a FaultStore's InTx gives (methods in faulttx.go).
type faultTx struct {
	tx    account.Tx
	write func(what string) error
}
