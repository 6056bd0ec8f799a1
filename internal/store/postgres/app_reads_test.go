package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// Reads that arrive together share statements; a read alone has one of its
// own. (What each read answers, and that none sees a session signed out
// before it began, is in the conformance suite: SessionForAppUnderConcurrency,
// SignOutSeenByReadsUnderLoad.)
func TestSessionForAppReadsShareStatements(t *testing.T) {
	ctx := context.Background()
	s, _ := openSeeded(t, pgtest.Database(t))

	before := s.appReads.statements.Load()
	if _, _, err := s.SessionForApp(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionForApp(ctx, "missing"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("SessionForApp(missing) = %v; want ErrNotFound", err)
	}
	if n := s.appReads.statements.Load() - before; n != 2 {
		t.Errorf("two reads one after the other sent %d statements; want 2", n)
	}

	const readers, each = 64, 20
	before = s.appReads.statements.Load()
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, _, err := s.SessionForApp(ctx, "h"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := s.appReads.statements.Load() - before
	t.Logf("%d reads by %d readers at once: %d statements", readers*each, readers, n)
	if n >= readers*each {
		t.Errorf("%d reads at once sent %d statements; want fewer (reads waiting together share one)", readers*each, n)
	}
	s.appReads.mu.Lock()
	defer s.appReads.mu.Unlock()
	if len(s.appReads.pending) != 0 || s.appReads.running != 0 {
		t.Errorf("after the reads: %d pending, %d statements running; want none", len(s.appReads.pending), s.appReads.running)
	}
}

// A read whose request ends while it waits returns at once; the statement
// it was in still answers the others.
func TestSessionForAppEndedRequest(t *testing.T) {
	s, err := Open(context.Background(), pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.SessionForApp(ctx, "h"); !errors.Is(err, context.Canceled) {
		t.Errorf("SessionForApp(an ended request) = %v; want context.Canceled", err)
	}
}
