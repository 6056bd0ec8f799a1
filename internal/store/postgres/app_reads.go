package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/rowmap"
)

// appReads coalesces the reads behind forward-auth checks (SessionForApp)
// that arrive while earlier ones are in flight into one statement for all
// of them. A check is twofold's hottest path, and on PostgreSQL most of
// its cost is the round trip: the statement's write and read on both
// sides and the backend's start and end of a statement, which a batch
// pays once. Nothing is cached: a read joins only a statement that has not
// been sent yet, so it still sees every commit that ended before the
// check asked (each statement reads a snapshot taken when it starts).
//
// One statement runs at a time (appReadsInFlight). A read that finds none
// running sends its own at once (alone, when nothing else waits: an idle
// server adds no delay); one that comes while a statement is out waits to
// be taken by the next, which the end of the running one sends. The batch
// grows with the load instead of the number of round trips.
type appReads struct {
	mu      sync.Mutex
	pending []*appRead
	running int

	statements atomic.Int64 // statements sent, for the tests
}

// appRead is one SessionForApp call waiting for its answer.
type appRead struct {
	hash  string
	done  chan struct{} // closed once sess, state and err are set
	sess  *account.Session
	state account.AppsState
	err   error
}

const (
	// appReadsInFlight bounds the statements running at once. One did
	// best in `twofold bench` (docs/performance.md): 64 clients' checks
	// at 0.46 of the bare handler with one, 0.40 with two, 0.37 with four,
	// 0.31 unbatched, on one 2-core machine.
	appReadsInFlight = 1
	// appReadsBatch bounds the sessions one statement reads.
	appReadsBatch = 128
	// appReadTimeout bounds one statement, which serves several requests
	// and so runs under none of their contexts (a request's deadline is
	// 20 s; a request that ends stops waiting for its answer, and the
	// statement runs on for the others).
	appReadTimeout = 10 * time.Second
)

// sessionsForAppSQL reads the sessions of several token hashes, each with
// its hash first.
var sessionsForAppSQL = `SELECT s.token_hash, ` + rowmap.SessionForAppColumns + `
	FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN settings st ON st.id = 1
	WHERE s.token_hash = ANY($1) AND u.deactivated_at IS NULL`

// SessionForApp implements account.Store.
func (s *Store) SessionForApp(ctx context.Context, tokenHash string) (*account.Session, account.AppsState, error) {
	if err := ctx.Err(); err != nil {
		return nil, account.AppsState{}, fmt.Errorf("postgres: session for app: %w", err)
	}
	r := &appRead{hash: tokenHash, done: make(chan struct{})}
	q := &s.appReads
	q.mu.Lock()
	q.pending = append(q.pending, r)
	var batch []*appRead
	if q.running < appReadsInFlight {
		q.running++
		batch = q.takeLocked()
	}
	q.mu.Unlock()
	if batch != nil {
		go s.runAppReads(batch)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, account.AppsState{}, fmt.Errorf("postgres: session for app: %w", ctx.Err())
	}
	if r.err != nil {
		return nil, account.AppsState{}, fmt.Errorf("postgres: session for app: %w", r.err)
	}
	return r.sess, r.state, nil
}

// takeLocked takes the next batch off the queue, oldest first, at most
// appReadsBatch reads. It returns nil when nothing waits.
func (q *appReads) takeLocked() []*appRead {
	if len(q.pending) == 0 {
		return nil
	}
	n := min(len(q.pending), appReadsBatch)
	batch := slices.Clone(q.pending[:n])
	rest := copy(q.pending, q.pending[n:])
	clear(q.pending[rest:]) // no reference kept to a read handed out
	q.pending = q.pending[:rest]
	return batch
}

// runAppReads answers batch with one statement, then the reads that came
// meanwhile with the next, until none waits. It runs in a goroutine of
// its own, so that every read, the one that started it too, waits under
// its own request's context.
func (s *Store) runAppReads(batch []*appRead) {
	q := &s.appReads
	for batch != nil {
		s.readSessionsForApp(batch)
		q.mu.Lock()
		next := q.takeLocked()
		if next == nil {
			q.running--
		}
		q.mu.Unlock()
		// Answered only now: once a read returns, the queue is idle or
		// its next statement is on its way.
		for _, r := range batch {
			close(r.done)
		}
		batch = next
	}
}

// readSessionsForApp runs one statement for batch and answers each read:
// its session, account.ErrNotFound when the statement found none, or the
// statement's error. Reads of one token (a browser's parallel requests)
// share the row but each gets a Session of its own, scanned from it.
func (s *Store) readSessionsForApp(batch []*appRead) {
	byHash := make(map[string][]*appRead, len(batch))
	hashes := make([]string, 0, len(batch))
	for _, r := range batch {
		if byHash[r.hash] == nil {
			hashes = append(hashes, r.hash)
		}
		byHash[r.hash] = append(byHash[r.hash], r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), appReadTimeout)
	defer cancel()
	s.appReads.statements.Add(1)
	err := func() (err error) {
		// A panic here (driver, tracer, scan) must not leave the queue
		// with running set and nobody to take it: it fails this batch.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		rows, err := s.pool.Query(ctx, sessionsForAppSQL, hashes)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var hash string
			scan := hashFirst{rows, &hash}
			sess, state, err := rowmap.ScanSessionForApp(scan, "")
			for i, r := range byHash[hash] {
				if i > 0 { // the same row again, into a Session of its own
					sess, state, err = rowmap.ScanSessionForApp(scan, "")
				}
				if err != nil {
					return err
				}
				sess.TokenHash = hash
				r.sess, r.state = sess, state
			}
			if err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	for _, r := range batch {
		switch {
		case err != nil:
			r.sess, r.err = nil, err
		case r.sess == nil:
			r.err = account.ErrNotFound
		}
	}
}

// hashFirst scans a row of sessionsForAppSQL: the token hash into hash,
// the rest into the destinations it is given.
type hashFirst struct {
	rows interface{ Scan(...any) error }
	hash *string
}

func (h hashFirst) Scan(dest ...any) error {
	return h.rows.Scan(append([]any{h.hash}, dest...)...)
}
