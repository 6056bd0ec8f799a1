package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// errClosed answers writes that arrive after Close.
var errClosed = errors.New("sqlite: store closed")

// errWriteInsideTx answers a write started on the Store from inside a
// write transaction: on the one write connection it would wait forever for
// the transaction it is part of, and with it every writer of the process.
var errWriteInsideTx = errors.New("sqlite: a write was started on the store inside a write transaction; use the transaction's handle (account.Tx) instead")

// inWriteTx marks the context a transaction's fn runs with.
type inWriteTx struct{}

// maxGroup bounds how many write transactions share one COMMIT.
const maxGroup = 128

// groupWriter runs every write transaction of this process on the one
// write connection, and commits the transactions that arrive together with
// one COMMIT: group commit. With synchronous=FULL each COMMIT waits for an
// fsync of the WAL, which on its own would cap the store at one write per
// fsync; a sign-in makes five. Grouping changes neither isolation nor
// durability:
//
//   - each transaction runs alone, in turn, inside a SAVEPOINT of the
//     group's BEGIN IMMEDIATE transaction, so its statements see every
//     earlier transaction's writes and its conditional UPDATEs decide by
//     their row counts exactly as before (one failing is rolled back to
//     its savepoint and leaves the others alone);
//   - no caller hears back before the COMMIT has returned, fsync included;
//     if the COMMIT fails, every transaction of the group reports it.
//
// The transactions of a group are independent: nothing waits to fill a
// group, so a lone write commits at once as before.
type groupWriter struct {
	db    *sql.DB
	reqs  chan *writeReq
	quit  chan struct{}
	done  chan struct{}
	close sync.Once
}

type writeReq struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sql.Tx) error
	err chan error // buffered: the writer never blocks on an answer
}

func newGroupWriter(db *sql.DB) *groupWriter {
	w := &groupWriter{db: db, reqs: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// do runs fn in a write transaction and returns once it is committed (or
// failed). Once accepted, a transaction is carried out even if ctx ends
// meanwhile, so its caller always learns whether it was committed;
// statements run with ctx's values but not its cancellation, since an
// interrupted write would roll back the whole group.
func (w *groupWriter) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if ctx.Value(inWriteTx{}) != nil {
		return errWriteInsideTx
	}
	r := &writeReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errClosed
	}
	return <-r.err
}

func (w *groupWriter) stop() {
	w.close.Do(func() { close(w.quit) })
	<-w.done
}

func (w *groupWriter) run() {
	defer close(w.done)
	batch := make([]*writeReq, 0, maxGroup)
	for {
		select {
		case r := <-w.reqs:
			batch = append(batch[:0], r)
		case <-w.quit:
			return
		}
	gather:
		for len(batch) < maxGroup {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		w.commit(batch)
	}
}

func (w *groupWriter) commit(batch []*writeReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err <- err // its caller gave up before it started: not run
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	failAll := func(err error) {
		for _, r := range live {
			r.err <- err
		}
	}
	bg := context.Background()
	tx, err := w.db.BeginTx(bg, nil) // BEGIN IMMEDIATE (the _txlock of the DSN)
	if err != nil {
		failAll(err)
		return
	}
	if len(live) == 1 {
		r := live[0]
		if err := r.fn(txContext(r.ctx), tx); err != nil {
			r.err <- errors.Join(err, tx.Rollback())
			return
		}
		r.err <- tx.Commit()
		return
	}
	results := make([]error, len(live))
	for i, r := range live {
		if _, err := tx.ExecContext(bg, "SAVEPOINT tx"); err != nil {
			failAll(fmt.Errorf("sqlite: group commit: %w", errors.Join(err, tx.Rollback())))
			return
		}
		if results[i] = r.fn(txContext(r.ctx), tx); results[i] != nil {
			if _, err := tx.ExecContext(bg, "ROLLBACK TO tx"); err != nil {
				// SQLite rolled the whole transaction back (an I/O error, say).
				failAll(fmt.Errorf("sqlite: group commit: %w", errors.Join(results[i], err, tx.Rollback())))
				return
			}
		}
		if _, err := tx.ExecContext(bg, "RELEASE tx"); err != nil {
			failAll(fmt.Errorf("sqlite: group commit: %w", errors.Join(err, tx.Rollback())))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		failAll(err)
		return
	}
	for i, r := range live {
		r.err <- results[i]
	}
}

// txContext is the context a transaction's statements run with: the
// caller's values, not its cancellation (an interrupted write would roll
// back the whole group), marked so that a write started from inside fails.
func txContext(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), inWriteTx{}, true)
}
