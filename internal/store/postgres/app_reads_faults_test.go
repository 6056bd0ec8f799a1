package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/autocommit"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// seedSessionH creates a user and a complete session with token hash "h".
func seedSessionH(t *testing.T, s *Store) int64 {
	t.Helper()
	ctx := context.Background()
	u := &account.User{Email: "ana@example.com", Name: "Ana", PasswordHash: "$argon2id$x", CreatedAt: time.Unix(1e9, 0)}
	if err := autocommit.Wrap(s).CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := autocommit.Wrap(s).CreateSession(ctx, &account.Session{TokenHash: "h", UserID: u.ID, Stage: account.StageComplete,
		CreatedAt: now, LastSeenAt: now, AuthenticatedAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.1", UserAgent: "ua"}); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// openSeeded opens a store on dsn, closed when the test ends (after the
// blocker's connections, so a statement held by its lock ends first),
// with ana's session "h"; it returns the store and her id.
func openSeeded(t *testing.T, dsn string) (*Store, int64) {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, seedSessionH(t, s)
}

// startBlockedRead locks the sessions table and starts a read of "h"
// under ctx, returning once its statement waits on the lock: reads after
// it queue for the next statement.
func startBlockedRead(t *testing.T, ctx context.Context, s *Store, dsn string) (*blocker, <-chan result) {
	t.Helper()
	b := newBlocker(t, dsn)
	first := make(chan result, 1)
	go func() { sess, _, err := s.SessionForApp(ctx, "h"); first <- result{sess, err} }()
	b.waitBlocked(1)
	return b, first
}

// blocker holds ACCESS EXCLUSIVE on sessions so that the statement in
// flight waits, and watches the server from a second connection.
type blocker struct {
	t      *testing.T
	lock   pgx.Tx
	watch  *pgx.Conn
	killed []int32
}

func newBlocker(t *testing.T, dsn string) *blocker {
	t.Helper()
	ctx := context.Background()
	lc, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.Close(ctx) })
	wc, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wc.Close(ctx) })
	tx, err := lc.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return &blocker{t: t, lock: tx, watch: wc, killed: []int32{}}
}

// waitBlocked waits until a backend of this database other than the ones
// already killed waits on a lock.
func (b *blocker) waitBlocked(int) {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var c int
		if err := b.watch.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND NOT (pid = ANY($1))`, b.killed).Scan(&c); err != nil {
			b.t.Fatal(err)
		}
		if c >= 1 {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no backend waiting on a lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill terminates the backends waiting on the lock (the statement in flight).
func (b *blocker) kill() {
	b.t.Helper()
	rows, err := b.watch.Query(context.Background(),
		`SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND NOT (pid = ANY($1))`, b.killed)
	if err != nil {
		b.t.Fatal(err)
	}
	for rows.Next() {
		var pid int32
		var ok bool
		if err := rows.Scan(&pid, &ok); err != nil {
			b.t.Fatal(err)
		}
		b.killed = append(b.killed, pid)
	}
	if err := rows.Err(); err != nil {
		b.t.Fatal(err)
	}
}

func (b *blocker) release() {
	if err := b.lock.Rollback(context.Background()); err != nil {
		b.t.Fatal(err)
	}
}

func waitPending(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.appReads.mu.Lock()
		p := len(s.appReads.pending)
		s.appReads.mu.Unlock()
		if p >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reads pending; want %d", p, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkIdle waits for the queue to be idle: the last statement's goroutine
// answers its reads before it gives up running, so a read may return
// while running is still 1 for a moment.
func checkIdle(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.appReads.mu.Lock()
		p, r := len(s.appReads.pending), s.appReads.running
		s.appReads.mu.Unlock()
		if p == 0 && r == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after the reads: %d pending, %d running; want none", p, r)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

type result struct {
	sess *account.Session
	err  error
}

// More than appReadsBatch reads waiting at once are all answered, in
// batches of at most appReadsBatch, each the right answer.
func TestSessionForAppMoreThanABatchWaiting(t *testing.T) {
	dsn := pgtest.Database(t)
	s, uid := openSeeded(t, dsn)
	before := s.appReads.statements.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, first := startBlockedRead(t, ctx, s, dsn)

	const n = 3*appReadsBatch + 5
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := "h"
			if i%2 == 1 {
				h = fmt.Sprintf("unknown-%d", i)
			}
			sess, _, err := s.SessionForApp(ctx, h)
			results[i] = result{sess, err}
		}()
	}
	waitPending(t, s, n)
	b.release()
	wg.Wait()
	if r := <-first; r.err != nil || r.sess.UserID != uid {
		t.Errorf("first read = %+v, %v", r.sess, r.err)
	}
	for i, r := range results {
		switch {
		case i%2 == 1 && !errors.Is(r.err, account.ErrNotFound):
			t.Errorf("read %d (unknown) = %+v, %v; want ErrNotFound", i, r.sess, r.err)
		case i%2 == 0 && (r.err != nil || r.sess.UserID != uid || r.sess.TokenHash != "h"):
			t.Errorf("read %d (h) = %+v, %v", i, r.sess, r.err)
		}
	}
	if got, want := s.appReads.statements.Load()-before, int64(1+(n+appReadsBatch-1)/appReadsBatch); got != want {
		t.Errorf("%d statements; want %d", got, want)
	}
	checkIdle(t, s)
}

// A statement that fails answers each of its reads with the error: never
// ErrNotFound, never a session; and the reads after it are served.
func TestSessionForAppDBErrorIsAnError(t *testing.T) {
	dsn := pgtest.Database(t)
	s, uid := openSeeded(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, first := startBlockedRead(t, ctx, s, dsn)
	const n = 20
	results := make(chan result, n)
	for i := range n {
		go func() {
			h := "h"
			if i%2 == 1 {
				h = "unknown"
			}
			sess, _, err := s.SessionForApp(ctx, h)
			results <- result{sess, err}
		}()
	}
	waitPending(t, s, n)
	b.kill() // the first statement fails
	if r := <-first; r.err == nil || errors.Is(r.err, account.ErrNotFound) || r.sess != nil {
		t.Errorf("read whose statement was terminated = %+v, %v; want a database error", r.sess, r.err)
	}
	b.waitBlocked(1) // the second statement, all n reads, blocks too
	b.kill()
	for range n {
		if r := <-results; r.err == nil || errors.Is(r.err, account.ErrNotFound) || r.sess != nil {
			t.Errorf("read whose statement was terminated = %+v, %v; want a database error", r.sess, r.err)
		}
	}
	b.release()
	if sess, _, err := s.SessionForApp(ctx, "h"); err != nil || sess.UserID != uid {
		t.Errorf("read after the failures = %+v, %v", sess, err)
	}
	checkIdle(t, s)
}

// A closed pool is an error, not ErrNotFound.
func TestSessionForAppClosedPool(t *testing.T) {
	s, err := Open(context.Background(), pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	seedSessionH(t, s)
	s.Close()
	_, _, err = s.SessionForApp(context.Background(), "h")
	if err == nil || errors.Is(err, account.ErrNotFound) {
		t.Errorf("SessionForApp on a closed store = %v; want an error other than ErrNotFound", err)
	}
	checkIdle(t, s)
}

// A waiting read whose request ends returns at once, and the statement it
// was queued for still answers the others.
func TestSessionForAppWaiterCancelled(t *testing.T) {
	dsn := pgtest.Database(t)
	s, uid := openSeeded(t, dsn)
	ctx := context.Background()
	b, first := startBlockedRead(t, ctx, s, dsn)
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { _, _, err := s.SessionForApp(cctx, "h"); gone <- err }()
	other := make(chan result, 1)
	go func() { sess, _, err := s.SessionForApp(ctx, "h"); other <- result{sess, err} }()
	waitPending(t, s, 2)
	cancel()
	select {
	case err := <-gone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancelled waiter still waiting")
	}
	b.release()
	for _, c := range []<-chan result{first, other} {
		if r := <-c; r.err != nil || r.sess.UserID != uid {
			t.Errorf("read = %+v, %v", r.sess, r.err)
		}
	}
	checkIdle(t, s)
}

// The read that sends the statement is a request too: when its request
// ends, it stops waiting (the statement runs on, for the others).
func TestSessionForAppRunnerHonoursItsContext(t *testing.T) {
	dsn := pgtest.Database(t)
	s, _ := openSeeded(t, dsn)
	b := newBlocker(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { _, _, err := s.SessionForApp(ctx, "h"); done <- err }()
	b.waitBlocked(1)
	select {
	case err := <-done:
		t.Logf("returned after %v: %v", time.Since(start), err)
		b.release() // the statement runs on to its end, then Close can return
	case <-time.After(3 * time.Second):
		b.release()
		err := <-done
		t.Errorf("read whose 200ms request ended was still waiting after 3s (returned only once the lock went, after %v: %v)", time.Since(start), err)
	}
}

// panicTracer panics in the forward-auth statement once armed.
type panicTracer struct{ armed atomic.Bool }

func (p *panicTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "ANY($1)") && p.armed.CompareAndSwap(true, false) {
		panic("injected panic in the statement")
	}
	return ctx
}

func (p *panicTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A panic in one statement (here from a pgx tracer; any bug in the driver
// or the scan would do) must not leave running at 1 with nobody to take
// the queue: afterwards every forward-auth read of the process waits until
// its request's deadline.
func TestSessionForAppPanicDoesNotWedge(t *testing.T) {
	dsn := pgtest.Database(t)
	s0, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	seedSessionH(t, s0)
	s0.Close()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	tr := &panicTracer{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Not closed: pgxpool.Query leaks the connection it panicked on, and
	// Close would wait for it; DROP DATABASE ... WITH (FORCE) ends it.
	s := &Store{pool: pool}
	tr.armed.Store(true)
	func() {
		defer func() { t.Logf("first read panicked: %v", recover()) }()
		s.SessionForApp(context.Background(), "h")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, _, err := s.SessionForApp(ctx, "h"); err != nil {
		s.appReads.mu.Lock()
		t.Errorf("read after a statement panicked = %v (running %d, pending %d): wedged", err, s.appReads.running, len(s.appReads.pending))
		s.appReads.mu.Unlock()
	}
}

// The []string parameter works in every exec mode a DSN may choose (e.g.
// simple_protocol behind PgBouncer), with hashes that need quoting in an
// array literal, in a batch of several tokens.
func TestSessionForAppExecModes(t *testing.T) {
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			dsn := pgtest.Database(t) + "&default_query_exec_mode=" + mode
			s, uid := openSeeded(t, dsn)
			odd := `a"b,c{}\ 'NULL`
			now := time.Now()
			if err := autocommit.Wrap(s).CreateSession(context.Background(), &account.Session{TokenHash: odd, UserID: uid, Stage: account.StageComplete,
				CreatedAt: now, LastSeenAt: now, AuthenticatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			b, first := startBlockedRead(t, ctx, s, dsn)
			hashes := []string{"h", odd, "NULL", "", "unknown", odd, "h"}
			results := make([]result, len(hashes))
			var wg sync.WaitGroup
			for i, h := range hashes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sess, _, err := s.SessionForApp(ctx, h)
					results[i] = result{sess, err}
				}()
			}
			waitPending(t, s, len(hashes))
			b.release()
			wg.Wait()
			<-first
			for i, h := range hashes {
				r := results[i]
				if h == "h" || h == odd {
					if r.err != nil || r.sess.TokenHash != h || r.sess.UserID != uid {
						t.Errorf("%q: %+v, %v", h, r.sess, r.err)
					}
				} else if !errors.Is(r.err, account.ErrNotFound) {
					t.Errorf("%q: %+v, %v; want ErrNotFound", h, r.sess, r.err)
				}
			}
		})
	}
}

// gate holds the client's reads of a pool's connections: a statement is
// sent and run (its snapshot taken) but its answer not read yet.
type gate struct {
	mu sync.Mutex
	ch chan struct{} // non-nil while closed
}

func (g *gate) close() { g.mu.Lock(); g.ch = make(chan struct{}); g.mu.Unlock() }
func (g *gate) open()  { g.mu.Lock(); close(g.ch); g.ch = nil; g.mu.Unlock() }
func (g *gate) wait() {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

type gatedConn struct {
	net.Conn
	g *gate
}

func (c gatedConn) Read(p []byte) (int, error) { c.g.wait(); return c.Conn.Read(p) }

// Deterministic promise 1: a statement in flight has taken its snapshot
// (it ran; its answer is on the wire); a sign-out then commits; a read
// started after that must not be answered by the statement in flight.
func TestSessionForAppNeverAnsweredByAnEarlierStatement(t *testing.T) {
	dsn := pgtest.Database(t)
	other, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	seedSessionH(t, other)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return gatedConn{c, g}, nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{pool: pool}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := s.SessionForApp(ctx, "h"); err != nil { // prepares the statement
		t.Fatal(err)
	}
	watch, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	var t0 time.Time
	if err := watch.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&t0); err != nil {
		t.Fatal(err)
	}
	g.close()
	first := make(chan result, 1)
	go func() { sess, _, err := s.SessionForApp(ctx, "h"); first <- result{sess, err} }()
	for { // until the server has run it and gone idle
		var n int
		if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND state = 'idle' AND query LIKE '%ANY($1)%' AND state_change > $1`, t0).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := autocommit.Wrap(other).DeleteSession(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	second := make(chan result, 1)
	go func() { sess, _, err := s.SessionForApp(ctx, "h"); second <- result{sess, err} }()
	time.Sleep(200 * time.Millisecond) // the second read is queued (or, wrongly, joined the first)
	g.open()
	if r := <-first; r.err != nil {
		t.Errorf("first read = %v", r.err)
	}
	if r := <-second; !errors.Is(r.err, account.ErrNotFound) {
		t.Errorf("read started after the sign-out committed = %+v, %v; want ErrNotFound", r.sess, r.err)
	}
}
