package main_test

// Whole-system race tests: a security change and the requests that race it,
// against the real binary (built with -race), on a SQLite file always and on
// PostgreSQL when TWOFOLD_TEST_POSTGRES_DSN is set. Each test repeats its
// race for a fixed number of rounds (eachStore) or until each interleaving
// it is about has been seen, failing if one never was (eachStoreUntil),
// every round on a fresh account and from a fresh loopback address (so the
// per-account and per-IP throttles never decide a round), and asserts the
// promise the change makes once it has answered. Every round is a subtest:
// the log says in how many rounds the promise was broken.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/password"
	"github.com/twofold/twofold/internal/store/autocommit"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/totp"
)

// racePassword is the password of every account here: the one
// setUpMember, enrollMember and passwordStep use.
const (
	racePassword    = crashPassword
	raceNewPassword = "a brand new passphrase"
)

var raceIPs atomic.Int64

// raceClient returns a client from a loopback address no other round uses:
// sign-ups (20 per IP per hour) and failed passwords (100 per IP per 15
// minutes) are counted per address.
func raceClient() *http.Client {
	n := raceIPs.Add(1)
	return clientFrom(fmt.Sprintf("127.66.%d.%d", n/250, n%250+1))
}

// eachStore runs rounds rounds of round against one fresh twofold instance
// per store, each round a subtest with its own client address, and logs in
// how many rounds the promise was broken. The two stores' instances run in
// parallel (with the package's other parallel tests); the rounds on one
// instance run one after another. Races timed by a password check measure
// it (hashTime) on their own instance just before, under the load of the
// moment.
func eachStore(t *testing.T, rounds int, round func(t *testing.T, p *process, c *http.Client, email string)) {
	t.Helper()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			var env []string
			if store == "postgres" {
				env = append(env, "TWOFOLD_DATABASE="+pgtest.Database(t))
			}
			p := start(t, t.TempDir(), env...)
			began := time.Now()
			broken := 0
			for r := range rounds {
				email := fmt.Sprintf("owner%d@example.com", r+1)
				c := raceClient()
				if !t.Run(fmt.Sprintf("round%d", r+1), func(t *testing.T) { round(t, p, c, email) }) {
					broken++
				}
				// A connection dialled for a request that another one
				// then carried has sent nothing: the server's shutdown
				// would wait 5 s before it counts as idle.
				c.CloseIdleConnections()
			}
			t.Logf("%s: the promise was broken in %d of %d rounds (%v)", store, broken, rounds, time.Since(began).Round(time.Millisecond))
			p.stop(t)
		})
	}
}

// eachStoreUntil is eachStore for a race with more than one interesting
// interleaving: on each store it runs rounds until missing (given how many
// rounds so far ended in each outcome) returns "", at most most rounds, and
// fails if it never did: a race test that never saw the interleaving it is
// about would pass without proving anything. Each round is told the
// outcomes so far (to choose which interleaving to bring about) and returns
// its own. The instances serve metrics, for rounds that read them.
func eachStoreUntil(t *testing.T, most int, missing func(seen map[string]int) string,
	round func(t *testing.T, p *process, c *http.Client, email string, seen map[string]int) string) {
	t.Helper()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			env := []string{"TWOFOLD_METRICS_ADDR=127.0.0.1:0"}
			if store == "postgres" {
				env = append(env, "TWOFOLD_DATABASE="+pgtest.Database(t))
			}
			p := start(t, t.TempDir(), env...)
			began := time.Now()
			broken, rounds := 0, 0
			seen := map[string]int{}
			for rounds < most && missing(seen) != "" {
				rounds++
				email := fmt.Sprintf("owner%d@example.com", rounds)
				c := raceClient()
				outcome := ""
				if !t.Run(fmt.Sprintf("round%d", rounds), func(t *testing.T) { outcome = round(t, p, c, email, maps.Clone(seen)) }) {
					broken++
				}
				seen[outcome]++
				c.CloseIdleConnections() // as in eachStore
			}
			t.Logf("%s: the promise was broken in %d of %d rounds; outcomes %v (%v)", store, broken, rounds, seen, time.Since(began).Round(time.Millisecond))
			if what := missing(seen); what != "" {
				t.Fatalf("%s: after %d rounds (outcomes %v), %s: the race was not exercised", store, rounds, seen, what)
			}
			p.stop(t)
		})
	}
}

// progress shows, from the database an instance serves from, how far a
// change of one account has got. A password or code check reserves an
// attempt in the throttle (a commit of its own) before it checks, and the
// change it allows gives the reservation back in its own transaction: while
// the reservation is there, the change is under way. A fixed delay cannot
// tell as much: on a busy 2-core machine a password check takes anything
// from 30 to 200 ms, and the windows these races are about are a few
// milliseconds wide.
type progress struct {
	db       *sql.DB
	postgres bool
	userID   int64
	email    string
}

// watch opens the database p serves from beside it, for the account email.
func watch(t *testing.T, p *process, email string) *progress {
	t.Helper()
	w := &progress{email: email, postgres: strings.HasPrefix(p.database, "postgres")}
	var err error
	if w.postgres {
		w.db, err = sql.Open("pgx", p.database)
	} else {
		w.db, err = sql.Open("sqlite", "file:"+p.database+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.db.Close() })
	q := `SELECT id FROM users WHERE email = ?`
	if w.postgres {
		q = `SELECT id FROM users WHERE email = $1`
	}
	if err := w.db.QueryRow(q, email).Scan(&w.userID); err != nil {
		t.Fatalf("the id of %s: %v", email, err)
	}
	for _, key := range []string{w.passwordKey(), w.codeKey()} {
		if w.reserved(t, key) {
			t.Fatalf("%s is reserved before the race: nothing can be told from it", key)
		}
	}
	return w
}

// passwordKey is the throttle key a password check of the account reserves.
func (w *progress) passwordKey() string { return "password:email:" + w.email }

// codeKey is the throttle key a code check of the account reserves.
func (w *progress) codeKey() string { return fmt.Sprintf("code:user:%d", w.userID) }

func (w *progress) reserved(t *testing.T, key string) bool {
	q := `SELECT count(*) FROM throttle_attempts WHERE key = ?`
	if w.postgres {
		q = `SELECT count(*) FROM throttle_attempts WHERE key = $1`
	}
	var n int
	if err := w.db.QueryRow(q, key).Scan(&n); err != nil {
		t.Errorf("reservations of %s: %v", key, err)
		return false
	}
	return n > 0
}

// await waits until key is reserved (true) or done is closed (false).
func (w *progress) await(t *testing.T, key string, done <-chan struct{}) bool {
	for !w.reserved(t, key) {
		select {
		case <-done:
			return false
		case <-time.After(200 * time.Microsecond):
		}
	}
	return true
}

// hold keeps the account's rows of table (users: its own; sessions: its
// sessions) from being written until release is called: on PostgreSQL by
// locking them, on SQLite, which locks only the whole file, by taking its
// write lock, which holds every write of the instance (its one writer
// waits for the lock, busy_timeout, then takes the writes that queued in
// the order they came). A change that reaches its transaction meanwhile
// waits there, with whatever comes after it behind it.
func (w *progress) hold(t *testing.T, table string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := w.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hold := []string{"BEGIN IMMEDIATE"}
	if w.postgres {
		column := map[string]string{"users": "id", "sessions": "user_id"}[table]
		hold = []string{"BEGIN", fmt.Sprintf("SELECT 1 FROM %s WHERE %s = %d FOR UPDATE", table, column, w.userID)}
	}
	for _, q := range hold {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			t.Fatalf("hold the %s of %s: %s: %v", table, w.email, q, err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Errorf("release the %s of %s: %v", table, w.email, err)
			}
			conn.Close()
		})
	}
	t.Cleanup(release) // if the test fails while holding them
	return release
}

// awaitWaiting waits, on PostgreSQL, until n transactions wait for a lock
// in the database (one that hold holds), or done is closed, or 30 s have
// passed; on SQLite, which does not say, it returns at once.
func (w *progress) awaitWaiting(t *testing.T, n int, done <-chan struct{}) {
	if !w.postgres {
		return
	}
	giveUp := time.Now().Add(30 * time.Second) // a generous bound: the outcome then says what happened
	for {
		var waiting int
		if err := w.db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Errorf("transactions waiting for a lock: %v", err)
			return
		}
		if waiting >= n || time.Now().After(giveUp) {
			return
		}
		select {
		case <-done:
			return
		case <-time.After(200 * time.Microsecond):
		}
	}
}

// hashesRunning is how many password hashes p is computing or waiting for
// now, from its metrics.
func hashesRunning(t *testing.T, p *process) int {
	f := scrape(t, p.metrics)
	return int(value(f, "twofold_password_hashes_running") + value(f, "twofold_password_hashes_waiting"))
}

// useCaseRollbacks is how many use-case transactions p has rolled back:
// changes refused where they were written.
func useCaseRollbacks(t *testing.T, p *process) int {
	return int(value(scrape(t, p.metrics), "twofold_store_transaction_duration_seconds", "kind", "use_case", "result", "rollback"))
}

// atOnce runs every fn in its own goroutine, lets them all go at the same
// moment and waits for all of them.
func atOnce(fns ...func()) {
	var wg sync.WaitGroup
	gun := make(chan struct{})
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gun
			fn()
		}()
	}
	close(gun)
	wg.Wait()
}

// signInAttempt is the answer to one password step.
type signInAttempt struct {
	status int
	stage  string // the body's status: authenticated or two_factor_required
	token  string
	body   map[string]any
	err    error
}

// signIns returns n password steps of email with pw, for atOnce, and where
// their answers go.
func signIns(c *http.Client, base, email, pw string, n int) ([]func(), []*signInAttempt) {
	fns := make([]func(), n)
	attempts := make([]*signInAttempt, n)
	for i := range n {
		a := &signInAttempt{}
		attempts[i] = a
		fns[i] = func() { *a = signInOnce(c, base, email, pw) }
	}
	return fns, attempts
}

func signInOnce(c *http.Client, base, email, pw string) signInAttempt {
	var a signInAttempt
	a.status, a.body, a.token, a.err = send(c, base, "POST", "/session", "", map[string]string{"email": email, "password": pw})
	a.stage, _ = a.body["status"].(string)
	return a
}

// attack is a steady attacker: n sign-ins of email with pw at a time, each
// sent again as soon as it is answered, until stop is closed. wait returns
// every answer once the last sign-in has been answered.
func attack(c *http.Client, base, email, pw string, n int, stop <-chan struct{}) (wait func() []*signInAttempt) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		attempts []*signInAttempt
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := signInOnce(c, base, email, pw)
				mu.Lock()
				attempts = append(attempts, &a)
				mu.Unlock()
				if a.err != nil {
					return
				}
			}
		}()
	}
	return func() []*signInAttempt {
		wg.Wait()
		return attempts
	}
}

// checkAnswered fails the test for a sign-in that got no answer or an
// answer no sign-in should get. 503 busy is an answer: the flood is the
// attacker's, and the server may turn some of it away.
func (a *signInAttempt) checkAnswered(t *testing.T, i int) {
	t.Helper()
	switch {
	case a.err != nil:
		t.Errorf("attacker sign-in %d: %v; want an answer", i, a.err)
	case a.status != 200 && a.status != 401 && a.status != 503:
		t.Errorf("attacker sign-in %d = %d %v; want 200, 401 or 503", i, a.status, a.body)
	}
}

// signInStatus does one password step of email with pw and returns its
// status, the body's status and the session.
func signInStatus(t *testing.T, c *http.Client, base, email, pw string) (int, string, string) {
	t.Helper()
	status, body, token, err := sendPatiently(c, base, "POST", "/session", "", map[string]string{"email": email, "password": pw})
	if err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	stage, _ := body["status"].(string)
	return status, stage, token
}

// me returns the GET /me of a fully signed-in session.
func me(t *testing.T, c *http.Client, base, token string) (enabled bool, remaining int, phone string) {
	t.Helper()
	status, body, _, err := send(c, base, "GET", "/me", token, nil)
	if err != nil || status != 200 {
		t.Fatalf("GET /me = %d %v %v; want 200", status, body, err)
	}
	tf, _ := body["two_factor"].(map[string]any)
	enabled, _ = tf["enabled"].(bool)
	n, _ := tf["backup_codes_remaining"].(float64)
	phone, _ = body["mobile_phone"].(string)
	return enabled, int(n), phone
}

// hashTime is how long a password check takes on the server now: the time
// of one POST /session/confirm-password, which checks the password and only
// renews the session's recent authentication. Races that must land inside
// a password check are timed by it.
func hashTime(t *testing.T, c *http.Client, base, token string) time.Duration {
	t.Helper()
	began := time.Now()
	status, body, _, err := sendPatiently(c, base, "POST", "/session/confirm-password", token, map[string]string{"password": racePassword})
	if err != nil || status != 200 {
		t.Fatalf("confirm password = %d %v %v; want 200", status, body, err)
	}
	return time.Since(began)
}

// changePassword changes the password of the session token from
// racePassword to raceNewPassword, again while the answer is 409 conflict
// (the account changed while the change ran; the API says to retry), and
// returns the last answer. Errors rather than failing, for goroutines.
func changePassword(c *http.Client, base, token string) (int, map[string]any, error) {
	for try := 0; ; try++ {
		status, body, _, err := send(c, base, "POST", "/me/password", token,
			map[string]string{"current_password": racePassword, "new_password": raceNewPassword})
		if err != nil || status != http.StatusConflict || body["code"] != "conflict" || try == 3 {
			return status, body, err
		}
	}
}

// 1. Changing the password signs out every other session. An attacker who
// knows the old password signs in again and again while the owner changes
// it: once the change has answered 204, no session the old password opened
// still works, and the old password no longer signs in.
func TestRacePasswordChangeVsSignIns(t *testing.T) {
	t.Parallel()
	const attackers = 12
	eachStore(t, 3, func(t *testing.T, p *process, c *http.Client, email string) {
		owner := mustSignUp(t, c, p.base, map[string]string{"email": email, "password": racePassword, "name": "Owner"})
		stop := make(chan struct{})
		wait := attack(c, p.base, email, racePassword, attackers, stop)
		status, body, err := changePassword(c, p.base, owner)
		close(stop)
		attempts := wait()
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("password change = %d %v %v; want 204", status, body, err)
		}
		signedIn := 0
		for i, a := range attempts {
			a.checkAnswered(t, i)
			if a.status != 200 {
				continue
			}
			signedIn++
			if got, _, _ := call(t, p.base, "GET", "/me", a.token, nil); got != http.StatusUnauthorized {
				t.Errorf("after the password change, attacker session %d: GET /me = %d; want 401", i, got)
			}
		}
		t.Logf("%d of %d attacker sign-ins were answered 200", signedIn, len(attempts))
		if got, stage, _ := signInStatus(t, c, p.base, email, racePassword); got != http.StatusUnauthorized {
			t.Errorf("after the password change, sign-in with the old password = %d %s; want 401", got, stage)
		}
	})
}

// 2. Enabling 2FA signs out every other session. An attacker who knows the
// password signs in again and again while the owner enables 2FA: once
// enable has answered, no session opened by the password alone (status
// authenticated) still reaches /me.
func TestRaceEnableTwoFactorVsSignIns(t *testing.T) {
	t.Parallel()
	const attackers = 12
	eachStore(t, 3, func(t *testing.T, p *process, c *http.Client, email string) {
		m, err := setUpMember(c, p.base, email)
		if err != nil {
			t.Fatal(err)
		}
		// Enable once the attack is under way: with sign-ins in every
		// stage of their password check.
		stop := make(chan struct{})
		wait := attack(c, p.base, email, racePassword, attackers, stop)
		time.Sleep(hashTime(t, c, p.base, m.token))
		enableErr := m.enable(c, p.base)
		close(stop)
		attempts := wait()
		if enableErr != nil {
			t.Fatal(enableErr)
		}
		passwordOnly := 0
		for i, a := range attempts {
			a.checkAnswered(t, i)
			if a.status != 200 || a.stage != string(account.StageComplete) {
				continue
			}
			passwordOnly++
			if got, _, _ := call(t, p.base, "GET", "/me", a.token, nil); got != http.StatusUnauthorized {
				t.Errorf("after 2FA was enabled, attacker session %d (signed in with the password only): GET /me = %d; want 401", i, got)
			}
		}
		t.Logf("%d of %d attacker sign-ins were answered authenticated (password only)", passwordOnly, len(attempts))
		if got, stage, _ := signInStatus(t, c, p.base, email, racePassword); got != 200 || stage != string(account.StageSecondFactor) {
			t.Errorf("after 2FA was enabled, sign-in with the password = %d %s; want 200 two_factor_required", got, stage)
		}
	})
}

// 3. Disabling 2FA deletes every backup code, and new backup codes are
// made only while 2FA is on. New backup codes are made again and again
// while the owner disables 2FA. If the disable answered 200, 2FA is off
// and no backup code remains: after 2FA is enabled again (with a new
// authenticator) the account has none until new ones are made. If it
// answered 409 conflict (codes were made while it checked the password),
// 2FA is still on with one whole set of codes, one of those made during
// the race.
//
// Which of those happens, and whether the rule is needed at all, depends on
// when the requests for codes come: during the disable's password check
// they make it answer 409; once it has committed, the request's own read
// refuses them. The rule (a conditional write) decides only for a request
// that read the account while 2FA was on and writes once the disable has
// committed. So the requests come in bursts started from what the database
// shows of the disable: while its password check runs (the 409 case), or
// once its code is reserved, when its transaction follows at once (a burst
// then overlaps its commit). A request refused where it writes is a rolled
// back transaction in the server's metrics; the rounds go on until that
// was seen twice and the 409 case once.
func TestRaceBackupCodesVsDisable(t *testing.T) {
	t.Parallel()
	const (
		every    = 2 * time.Millisecond // a new request for backup codes this often...
		inFlight = 4                    // ...while fewer than this many are unanswered
	)
	missing := func(seen map[string]int) string {
		switch {
		case seen["refused at the write"] < 2:
			return "requests for codes were not refused where they write (after the disable committed, having read 2FA on) in two rounds"
		case seen["codes won"] < 1:
			return "codes made during the disable's password check never made it answer 409"
		}
		return ""
	}
	eachStoreUntil(t, 16, missing, func(t *testing.T, p *process, c *http.Client, email string, seen map[string]int) string {
		m, err := enrollMember(c, p.base, email, true)
		if err != nil {
			t.Fatal(err)
		}
		w := watch(t, p, email)
		// Every other round, until the disable has lost once, the burst
		// comes during its password check.
		before := 0
		for _, n := range seen {
			before += n
		}
		duringCheck := seen["codes won"] == 0 && before%2 == 1
		var (
			mu        sync.Mutex
			generated [][]string // in the order they were answered
			refused   int        // 409 two_factor_not_enabled
		)
		generate := func() {
			status, body, _, err := send(c, p.base, "POST", "/me/backup-codes", m.token, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("backup codes: %v", err)
			case status == http.StatusCreated:
				var codes []string
				for _, code := range body["codes"].([]any) {
					codes = append(codes, code.(string))
				}
				generated = append(generated, codes)
			case status == http.StatusConflict && body["code"] == "two_factor_not_enabled":
				refused++
			default:
				t.Errorf("backup codes = %d %v; want 201, or 409 two_factor_not_enabled once disable is through", status, body)
			}
		}
		rollbacks := useCaseRollbacks(t, p)
		var status int
		var body map[string]any
		disabled := make(chan struct{})
		go func() {
			defer close(disabled)
			status, body, _, err = send(c, p.base, "POST", "/me/two-factor/disable", m.token,
				// The next step's code (enable used this one): the backup
				// codes are being replaced.
				map[string]string{"password": racePassword, "code": totp.Code(m.secret, time.Now().Add(totp.Period))})
		}()
		key := w.codeKey()
		if duringCheck {
			key = w.passwordKey()
		}
		release, held := func() {}, false
		if !duringCheck && w.postgres && w.await(t, w.passwordKey(), disabled) {
			// On PostgreSQL a request for codes could still take the
			// account's row before the disable's transaction does: hold it
			// from the password check on, so that the transaction waits
			// for it first, and the requests behind the transaction. (On
			// SQLite the one writer's order does it.)
			release, held = w.hold(t, "users"), true
		}
		sent := 0 // requests for codes sent before the disable answered
		if w.await(t, key, disabled) {
			if held {
				w.awaitWaiting(t, 1, disabled) // the transaction waits for the row
			}
			burst := make(chan struct{})
			go func() {
				defer close(burst)
				// The requests come at a steady pace, not each after the
				// last one's answer: on SQLite, requests answered by the
				// same group commit would go on in lockstep, all reading
				// or all writing.
				var wg sync.WaitGroup
				defer wg.Wait()
				slots := make(chan struct{}, inFlight)
				tick := time.NewTicker(every)
				defer tick.Stop()
				for {
					select {
					case slots <- struct{}{}:
						sent++
						wg.Add(1)
						go func() {
							defer func() { <-slots; wg.Done() }()
							generate()
						}()
					default:
					}
					select {
					case <-disabled:
						return
					case <-tick.C:
					}
				}
			}()
			if held {
				w.awaitWaiting(t, 2, disabled) // and a request for codes behind it
			}
			release()
			<-burst
		}
		release()
		<-disabled
		atWrite := useCaseRollbacks(t, p) - rollbacks
		switch {
		case err == nil && status == http.StatusServiceUnavailable:
			t.Logf("disable = 503 busy: no race this round")
			return "busy"
		case err == nil && status == http.StatusConflict && body["code"] == "conflict":
			// Codes were made while the disable checked the password: 2FA
			// stays on, with one whole set of codes.
			enabled, remaining, _ := me(t, c, p.base, m.token)
			if !enabled || remaining != len(m.codes) {
				t.Fatalf("after disable answered 409 conflict, GET /me = 2FA on %v, %d backup codes remaining; want on, with one whole set (%d)", enabled, remaining, len(m.codes))
			}
			// The set that stands is one of those given out: most likely
			// one of the last few answered. Fewer tries than the 10 wrong
			// codes the throttle allows.
			pending, err := passwordStep(c, p.base, email)
			if err != nil {
				t.Fatal(err)
			}
			for i := len(generated) - 1; i >= 0 && i >= len(generated)-8; i-- {
				status, _, _, err := send(c, p.base, "POST", "/session/two-factor", pending, map[string]string{"code": generated[i][0]})
				if err == nil && status == 200 {
					t.Logf("disable = 409 conflict after %d sets of codes were made (%d refused); set %d stands", len(generated), refused, i+1)
					return "codes won"
				}
			}
			t.Fatalf("after disable answered 409 conflict, none of the last %d of the %d sets of backup codes made during the race signs in", min(8, len(generated)), len(generated))
		case err != nil || status != http.StatusOK:
			t.Fatalf("disable = %d %v %v; want 200, or 409 conflict", status, body, err)
		}
		t.Logf("disable = 200 with %d requests for codes sent while it ran (from its %s reservation): %d sets made, %d refused, %d of them where they write", sent, key, len(generated), refused, atWrite)
		outcome := "refused at the write"
		if atWrite == 0 {
			outcome = "after" // every request came too late to need the rule
		}
		if enabled, _, _ := me(t, c, p.base, m.token); enabled {
			t.Fatal("after disable answered 200, GET /me says 2FA is on")
		}

		// Enrol again, with a new authenticator.
		status, setup, _, err := send(c, p.base, "POST", "/me/two-factor/setup", m.token, nil)
		if err != nil || status != 200 {
			t.Fatalf("setup again = %d %v %v; want 200", status, setup, err)
		}
		m.secret, err = totp.DecodeSecret(setup["secret"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.enable(c, p.base); err != nil {
			t.Fatal(err)
		}
		_, remaining, _ := me(t, c, p.base, m.token)
		if remaining == 0 {
			return outcome
		}
		t.Errorf("after 2FA was disabled (200) and enabled again, GET /me shows %d backup codes remaining; want 0 (%d sets of codes were made during the race)", remaining, len(generated))
		// Show one at work: the set that survived is most likely the last
		// one answered. Fewer than the 10 wrong codes the throttle allows.
		pending, err := passwordStep(c, p.base, email)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(generated) - 1; i >= 0 && i >= len(generated)-8; i-- {
			code := generated[i][0]
			status, _, _, err := send(c, p.base, "POST", "/session/two-factor", pending, map[string]string{"code": code})
			if err == nil && status == 200 {
				t.Errorf("backup code %s, made while 2FA was being disabled (set %d of %d), signs in after 2FA was enabled again; want 401", code, i+1, len(generated))
				break
			}
		}
		return outcome
	})
}

// olderParams are argon2id parameters twofold no longer uses (OWASP's
// m=12 MiB, t=3 alternative): a hash made with them is upgraded at the
// next sign-in.
var olderParams = password.Params{Memory: 12 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}

// giveOlderHash stores a hash of pw made with olderParams as email's
// password hash, straight into the database p serves from (SQLite in WAL
// mode takes a second writer while the server runs).
func giveOlderHash(t *testing.T, p *process, email, pw string) {
	t.Helper()
	ctx := context.Background()
	old, err := password.NewHasher(olderParams, rand.Reader, 1, 0, time.Minute).Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !password.NewHasher(password.OWASP, rand.Reader, 1, 0, time.Minute).NeedsRehash(old) {
		t.Fatalf("a hash with %+v needs no rehash under password.OWASP; the race needs one that does", olderParams)
	}
	store, err := openDatabase(ctx, p.database)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	// The same hash of the same password, as an upgrade writes it.
	if ok, err := autocommit.Wrap(store).RehashPassword(ctx, u.ID, u.PasswordHash, old); err != nil || !ok {
		t.Fatalf("RehashPassword = %v, %v", ok, err)
	}
}

// 4. A sign-in upgrades a hash made with older parameters while it has the
// password at hand. Sign-ins with the old password race a password change
// from the owner's session: once the change has answered 204, the old
// password never signs in again and the new one does.
func TestRaceHashUpgradeVsPasswordChange(t *testing.T) {
	t.Parallel()
	const signInsPerRound = 4
	eachStore(t, 4, func(t *testing.T, p *process, c *http.Client, email string) {
		owner := mustSignUp(t, c, p.base, map[string]string{"email": email, "password": racePassword, "name": "Owner"})
		lead := hashTime(t, c, p.base, owner) / 4
		giveOlderHash(t, p, email, racePassword)
		// The sign-ins come just after the change has begun: they read the
		// old hash and check it while the change checks it and makes the
		// new one.
		fns, attempts := signIns(c, p.base, email, racePassword, signInsPerRound)
		for i, fn := range fns {
			fns[i] = func() { time.Sleep(lead); fn() }
		}
		var status int
		var body map[string]any
		var err error
		fns = append(fns, func() { status, body, err = changePassword(c, p.base, owner) })
		atOnce(fns...)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("password change = %d %v %v; want 204", status, body, err)
		}
		for i, a := range attempts {
			a.checkAnswered(t, i)
		}
		if got, stage, _ := signInStatus(t, c, p.base, email, racePassword); got != http.StatusUnauthorized {
			t.Errorf("after the password change answered 204, sign-in with the old password = %d %s; want 401", got, stage)
		}
		if got, stage, _ := signInStatus(t, c, p.base, email, raceNewPassword); got != 200 || stage != string(account.StageComplete) {
			t.Errorf("after the password change answered 204, sign-in with the new password = %d %s; want 200 authenticated", got, stage)
		}
	})
}

// 5. The mobile phone number cannot be removed while 2FA is on, and 2FA
// cannot be enabled without one. Removing the number races enabling 2FA:
// whatever each answers, the account never ends up with 2FA on and no
// number.
func TestRacePhoneRemovalVsEnable(t *testing.T) {
	t.Parallel()
	const removals = 4
	eachStore(t, 12, func(t *testing.T, p *process, c *http.Client, email string) {
		m, err := setUpMember(c, p.base, email)
		if err != nil {
			t.Fatal(err)
		}
		// The removals come 1, 2, 3 and 4 ms after enable: both requests
		// are over in a few ms, and either order of them is no race.
		var enableErr error
		fns := []func(){func() { enableErr = m.enable(c, p.base) }}
		removed := make([]int, removals)
		for i := range removals {
			fns = append(fns, func() {
				time.Sleep(time.Duration(1+i) * time.Millisecond)
				status, body, _, err := send(c, p.base, "PATCH", "/me", m.token, map[string]string{"mobile_phone": ""})
				if err != nil || (status != 200 && status != 422) {
					t.Errorf("removing the number = %d %v %v; want 200 or 422", status, body, err)
				}
				removed[i] = status
			})
		}
		atOnce(fns...)
		enabled, _, phone := me(t, c, p.base, m.token)
		t.Logf("enable: %v; removing the number: %v; then 2FA on: %v, number %q", enableErr, removed, enabled, phone)
		if enabled && phone == "" {
			t.Errorf("GET /me = 2FA on with no mobile phone (enable: %v; removing the number: %v); want never 2FA on without a number", enableErr, removed)
		}
	})
}

// 6. Signing out races a change made from the same session: a password
// change or disabling 2FA. A change made on a session's authority holds
// that session in its transaction (SECURITY.md, promise 11): if the session
// was signed out first, nothing changes and the change answers 401, never
// 404; if the change took effect (the new password signs in; the password
// alone signs in), it answered success, and the account's security events
// record it, before the sign-out.
//
// A sign-out sent while the change checks the password always comes first
// (the change is undone); one sent once it has answered is no race. The
// interleaving the rule is for is a sign-out that comes while the change
// is being written. The rounds bring about both, from what the database
// shows of the change: the sign-out goes once the change's password
// reservation is there (it is checking), or once it is about to write —
// the disable's code reservation, which its transaction follows at once;
// for the password change, whose second hash (the new password's) leaves
// no trace, once its hashing is over (the metrics say). So that the change
// reaches its transaction first and the sign-out comes while it is being
// written, the account's sessions are held until the sign-out has been
// sent (for the disable on SQLite its code reservation is a write, which
// must go through: there the one writer's order does it).
// They go on until the change has taken effect with the sign-out sent
// before it could commit (twice) and been undone by it (once).
func TestRaceSignOutVsChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, event string
		ok          int  // the change's answer when it takes effect
		hold        bool // hold the sessions while the change hashes (see above)
		// begin makes the account and returns its session and the change.
		begin func(t *testing.T, c *http.Client, base, email string) (token, path string, body map[string]string)
		// inForce signs in afresh and returns a fully signed-in session if
		// the change took effect, "" if not.
		inForce func(t *testing.T, c *http.Client, base, email string) string
	}{
		{
			name: "password change", event: string(account.EventPasswordChanged), ok: http.StatusNoContent, hold: true,
			begin: func(t *testing.T, c *http.Client, base, email string) (string, string, map[string]string) {
				token := mustSignUp(t, c, base, map[string]string{"email": email, "password": racePassword, "name": "Owner"})
				return token, "/me/password", map[string]string{"current_password": racePassword, "new_password": raceNewPassword}
			},
			inForce: func(t *testing.T, c *http.Client, base, email string) string {
				if status, stage, token := signInStatus(t, c, base, email, raceNewPassword); status == 200 && stage == string(account.StageComplete) {
					return token
				}
				return ""
			},
		},
		{
			name: "2FA disable", event: string(account.EventTwoFactorDisabled), ok: http.StatusOK,
			begin: func(t *testing.T, c *http.Client, base, email string) (string, string, map[string]string) {
				m, err := enrollMember(c, base, email, true)
				if err != nil {
					t.Fatal(err)
				}
				return m.token, "/me/two-factor/disable", map[string]string{"password": racePassword, "code": m.codes[0]}
			},
			inForce: func(t *testing.T, c *http.Client, base, email string) string {
				status, stage, token := signInStatus(t, c, base, email, racePassword)
				if status != 200 {
					t.Fatalf("sign-in after the race = %d %s; want 200", status, stage)
				}
				if stage == string(account.StageComplete) {
					return token
				}
				return ""
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the two changes race on servers of their own
			missing := func(seen map[string]int) string {
				switch {
				case seen["in force"] < 2:
					return fmt.Sprintf("the %s did not take effect twice with the sign-out sent before it could commit", tc.name)
				case seen["undone"] < 1:
					return fmt.Sprintf("the sign-out never undid the %s", tc.name)
				}
				return ""
			}
			eachStoreUntil(t, 20, missing, func(t *testing.T, p *process, c *http.Client, email string, seen map[string]int) string {
				token, path, req := tc.begin(t, c, p.base, email)
				w := watch(t, p, email)
				// Every other round, until the sign-out has undone the
				// change once, it comes during the password check.
				before := 0
				for _, n := range seen {
					before += n
				}
				duringCheck := seen["undone"] == 0 && before%2 == 1
				var status int
				var body map[string]any
				var err error
				changed := make(chan struct{})
				go func() {
					defer close(changed)
					status, body, _, err = send(c, p.base, "POST", path, token, req)
				}()
				raced := false // the sign-out was sent before the change could commit
				release := func() {}
				switch {
				case !w.await(t, w.passwordKey(), changed):
				case duringCheck:
					raced = true
				case tc.hold:
					release = w.hold(t, "sessions")
					// The change's hashes are over when none runs or waits,
					// twice in a row (its two follow each other at once).
					for zeros := 0; zeros < 2; {
						select {
						case <-changed: // answered without writing (503 busy?)
							zeros = 2
							continue
						case <-time.After(time.Millisecond):
						}
						if hashesRunning(t, p) == 0 {
							zeros++
						} else {
							zeros = 0
						}
					}
					w.awaitWaiting(t, 1, changed)
					select {
					case <-changed:
					default:
						raced = true
					}
				default:
					// On PostgreSQL the sign-out could still delete the
					// session before the transaction updates it; the code's
					// reservation is no session write, so holding them
					// lets it through and keeps the transaction waiting.
					if w.postgres {
						release = w.hold(t, "sessions")
					}
					raced = w.await(t, w.codeKey(), changed) && w.reserved(t, w.passwordKey())
					w.awaitWaiting(t, 1, changed) // its transaction has got to the sessions
				}
				// The sign-out is sent before the sessions are let go: with
				// them held, it waits for them itself.
				var signOut int
				var signOutErr error
				wrote, signedOut := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(signedOut)
					var once sync.Once
					ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
						WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) }})
					signOut, _, _, signOutErr = sendContext(ctx, c, p.base, "DELETE", "/session", token, nil)
				}()
				select {
				case <-wrote:
				case <-signedOut:
				}
				release()
				<-signedOut
				<-changed
				if err != nil || signOutErr != nil || signOut != http.StatusNoContent {
					t.Fatalf("%s = %d %v %v; sign-out = %d %v; want answers, and 204 for the sign-out", tc.name, status, body, err, signOut, signOutErr)
				}
				if status == http.StatusNotFound {
					t.Errorf("%s raced with signing out answered 404 %v; want never 404", tc.name, body)
				}
				fresh := tc.inForce(t, c, p.base, email)
				if fresh == "" {
					switch status {
					case http.StatusUnauthorized:
					case http.StatusServiceUnavailable:
						t.Logf("%s = 503 busy: no race this round", tc.name)
						return "busy"
					default:
						t.Errorf("%s = %d %v, but it did not take effect; want 401 (signed out first)", tc.name, status, body)
					}
					t.Logf("%s = %d: undone by the sign-out (sent during the password check: %v)", tc.name, status, duringCheck)
					return "undone"
				}
				if status != tc.ok {
					t.Errorf("the %s took effect, but answered %d %v; want %d", tc.name, status, body, tc.ok)
				}
				got, events, _, err := send(c, p.base, "GET", "/me/events", fresh, nil)
				if err != nil || got != 200 {
					t.Fatalf("GET /me/events = %d %v %v; want 200", got, events, err)
				}
				var kinds []string // newest first
				list, _ := events["events"].([]any)
				for _, e := range list {
					kind, _ := e.(map[string]any)["kind"].(string)
					kinds = append(kinds, kind)
				}
				changedAt, signedOutAt := slices.Index(kinds, tc.event), slices.Index(kinds, string(account.EventSignOut))
				switch {
				case changedAt < 0:
					t.Errorf("the %s took effect (it answered %d), but the security events lack %s: %v", tc.name, status, tc.event, kinds)
				case signedOutAt >= 0 && changedAt < signedOutAt:
					t.Errorf("the %s took effect after its session was signed out (the security events, newest first: %v); want it undone", tc.name, kinds)
				}
				t.Logf("%s = %d: in force, the sign-out sent before it could commit: %v", tc.name, status, raced)
				if !raced {
					return "after"
				}
				return "in force"
			})
		})
	}
}

// adminOf makes (once per server) the first administrator through the
// setup link the server logged, and returns their session.
var admins sync.Map

func adminOf(t *testing.T, c *http.Client, p *process) string {
	t.Helper()
	if token, ok := admins.Load(p.base); ok {
		return token.(string)
	}
	u, err := url.Parse(p.setupURL)
	if err != nil || p.setupURL == "" {
		t.Fatalf("no setup link logged: %q", p.setupURL)
	}
	status, body, token, err := send(c, p.base, "POST", "/invitations/accept", "", map[string]string{
		"token": u.Query().Get("token"), "email": "admin@example.com", "name": "Admin", "password": racePassword})
	if err != nil || status != 201 {
		t.Fatalf("accept the setup link = %d %v %v", status, body, err)
	}
	admins.Store(p.base, token)
	return token
}

// 7. Deactivation ends every session, including those of sign-ins whose
// password was being checked when it landed (issue 11): an attacker with
// the password signs in again and again while an administrator
// deactivates the account; once that has answered, no session reaches /me
// and the right password answers 403 account_deactivated.
func TestRaceDeactivationVsSignIns(t *testing.T) {
	t.Parallel()
	const attackers = 12
	eachStore(t, 3, func(t *testing.T, p *process, c *http.Client, email string) {
		admin := adminOf(t, c, p)
		mustSignUp(t, c, p.base, map[string]string{"email": email, "password": racePassword, "name": "Owner"})
		status, body, _, err := send(c, p.base, "GET", "/admin/users", admin, nil)
		if err != nil || status != 200 {
			t.Fatalf("users = %d %v %v", status, body, err)
		}
		id := ""
		for _, u := range body["users"].([]any) {
			if m := u.(map[string]any); m["email"] == email {
				id = toJSON(m["id"])
			}
		}
		stop := make(chan struct{})
		wait := attack(c, p.base, email, racePassword, attackers, stop)
		time.Sleep(hashTime(t, c, p.base, admin))
		status, body, _, err = send(c, p.base, "PATCH", "/admin/users/"+id, admin, map[string]any{"active": false})
		close(stop)
		attempts := wait()
		if err != nil || status != 200 {
			t.Fatalf("deactivate = %d %v %v; want 200", status, body, err)
		}
		live := 0
		for i, a := range attempts {
			switch {
			case a.err != nil:
				t.Errorf("attacker sign-in %d: %v; want an answer", i, a.err)
			case a.status == 200:
				live++
				if got, _, _ := call(t, p.base, "GET", "/me", a.token, nil); got != http.StatusUnauthorized {
					t.Errorf("after deactivation, attacker session %d: GET /me = %d; want 401", i, got)
				}
			case a.status != 401 && a.status != 403 && a.status != 503:
				t.Errorf("attacker sign-in %d = %d %v; want 200, 401, 403 or 503", i, a.status, a.body)
			}
		}
		t.Logf("%d of %d attacker sign-ins were answered 200 before or during the deactivation", live, len(attempts))
		status, body, _, err = send(c, p.base, "POST", "/session", "", map[string]string{"email": email, "password": racePassword})
		if err != nil || status != 403 || body["code"] != "account_deactivated" {
			t.Errorf("after deactivation, the right password = %d %v %v; want 403 account_deactivated", status, body, err)
		}
	})
}
