package main_test

// Promise 8: nothing is lost when the process dies. A real server process on
// a SQLite file is killed with SIGKILL in the middle of sign-ins, backup-code
// uses, TOTP uses and 2FA enables, then restarted on the same data dir;
// every answer it gave before it died must still hold. And SIGTERM lets
// requests in flight finish.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/store/sqlite"
	"github.com/twofold/twofold/internal/totp"
)

const crashPassword = "correct horse battery"

// send is call without a *testing.T: for goroutines, and for requests that
// may meet a server that has just been killed. The error is the transport's.
func send(c *http.Client, base, method, path, token string, body any) (int, map[string]any, string, error) {
	return sendContext(context.Background(), c, base, method, path, token, body)
}

// sendContext is send with the request's context.
func sendContext(ctx context.Context, c *http.Client, base, method, path, token string, body any) (int, map[string]any, string, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+"/api/v1"+path, rd)
	if err != nil {
		return 0, nil, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "twofold_session", Value: token})
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, "", err
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	next := token
	for _, ck := range resp.Cookies() {
		if ck.Name == "twofold_session" {
			next = ck.Value
		}
	}
	return resp.StatusCode, m, next, nil
}

// clientFrom returns a client whose connections come from ip, a loopback
// address such as 127.0.1.1 (Linux routes all of 127/8 to lo). The server
// throttles sign-ups and failed passwords per client IP; a test playing many
// clients must not look like one.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 32}}
}

// sendPatiently is send that waits and repeats on 503 busy: a machine
// shared with other tests can starve the hash slots for longer than the
// server lets a sign-in wait, and busy is a whole answer, not a fault. (The
// server charges a busy sign-in to the password throttle as if it had
// failed, so callers keep each IP and account far from the limits.)
func sendPatiently(c *http.Client, base, method, path, token string, body any) (int, map[string]any, string, error) {
	for try := 0; ; try++ {
		status, m, next, err := send(c, base, method, path, token, body)
		if err != nil || status != http.StatusServiceUnavailable || try == 20 {
			return status, m, next, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// member is a user as the test knows them.
type member struct {
	email  string
	secret []byte   // TOTP, from setup
	token  string   // the sign-up session; enabling 2FA keeps it
	codes  []string // backup codes, if made
}

// setUpMember signs email up on base and sets up (not yet enables) TOTP.
// Like the other helpers here, it returns errors rather than failing, so
// goroutines can call it and requests may meet a killed server.
func setUpMember(c *http.Client, base, email string) (*member, error) {
	status, body, token, err := signUp(c, base, map[string]string{
		"email": email, "password": crashPassword, "name": "N", "mobile_phone": "+61412345678"})
	if err != nil {
		return nil, err
	}
	if status != 201 {
		return nil, fmt.Errorf("signup %s = %d %v; want 201", email, status, body)
	}
	m := &member{email: email, token: token}
	status, setup, _, err := send(c, base, "POST", "/me/two-factor/setup", token, nil)
	if err != nil {
		return m, err
	}
	if status != 200 {
		return m, fmt.Errorf("setup %s = %d %v; want 200", email, status, setup)
	}
	m.secret, err = totp.DecodeSecret(setup["secret"].(string))
	return m, err
}

// enable turns 2FA on with the current code; nil means the server answered 200.
func (m *member) enable(c *http.Client, base string) error {
	status, body, _, err := send(c, base, "POST", "/me/two-factor/enable", m.token, map[string]string{"code": totp.Code(m.secret, time.Now())})
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("enable %s = %d %v; want 200", m.email, status, body)
	}
	return nil
}

// enrollMember signs email up, turns 2FA on and, if withCodes, makes backup codes.
func enrollMember(c *http.Client, base, email string, withCodes bool) (*member, error) {
	m, err := setUpMember(c, base, email)
	if err != nil {
		return nil, err
	}
	if err := m.enable(c, base); err != nil || !withCodes {
		return m, err
	}
	status, body, _, err := send(c, base, "POST", "/me/backup-codes", m.token, nil)
	if err != nil {
		return m, err
	}
	if status != 201 {
		return m, fmt.Errorf("backup codes %s = %d %v; want 201", m.email, status, body)
	}
	for _, code := range body["codes"].([]any) {
		m.codes = append(m.codes, code.(string))
	}
	return m, nil
}

// passwordStep does the password step of a member and returns the pending token.
func passwordStep(c *http.Client, base, email string) (string, error) {
	status, body, token, err := sendPatiently(c, base, "POST", "/session", "", map[string]string{"email": email, "password": crashPassword})
	if err != nil {
		return "", err
	}
	if status != 200 || body["status"] != "two_factor_required" {
		return "", fmt.Errorf("password step %s = %d %v; want 200 two_factor_required", email, status, body)
	}
	return token, nil
}

type usedCode struct {
	m    *member
	code string
	step int64 // TOTP only: the step the code belongs to
}

// crashLedger is what the server said before it died: only answers that
// reached the client count. A request cut off by the kill has an unknown
// outcome, and its code is never sent again.
type crashLedger struct {
	mu      sync.Mutex
	backup  []usedCode
	totp    []usedCode
	enabled []*member
	counts  map[string]int
}

func (l *crashLedger) count(what string) {
	l.mu.Lock()
	l.counts[what]++
	l.mu.Unlock()
}

func (l *crashLedger) accept(list *[]usedCode, u usedCode) {
	l.mu.Lock()
	*list = append(*list, u)
	l.mu.Unlock()
}

// Promise 8. Each round: sign fresh accounts up, set them up and do their
// password steps (argon2id is the slow part, so it happens before the
// window); then send backup codes, TOTP codes, 2FA enables and full
// sign-ins at once, and SIGKILL the server at a random moment. Then check
// the file, restart on the same data dir, and check that every backup code
// and TOTP code answered 200 is refused (401) and every 2FA answered
// enabled is still on.
//
// The server is the production build (overload_test.go), as in the field.
// SIGKILL ends the process, not the machine: what the kernel was given
// survives. A power cut is what synchronous(FULL) is for; no test here
// proves that.
func TestSIGKILLLosesNothing(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("needs loopback source addresses beyond 127.0.0.1")
	}
	const (
		rounds         = 5
		backupAccounts = 3 // fresh per round
		codesEach      = 5 // used per account: each re-check after the restart is a failed code, and 10 failures throttle
		totpAccounts   = 2 // fresh per round, one TOTP code each
		enables        = 4 // fresh per round
	)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TWOFOLD_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TWOFOLD_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (TWOFOLD_CRASH_SEED=%d repeats the kill moments and pacing)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	bin := productionBinary(t)
	data := t.TempDir()
	dbPath := filepath.Join(data, "twofold.db")
	p := startBuild(t, bin, data)

	ledger := &crashLedger{counts: map[string]int{}}
	var everEnabled []*member // answered enabled before some kill: must stay on
	for round := 1; round <= rounds; round++ {
		roundStart := time.Now()
		// New clients (source IPs) each round: sign-ups are throttled per
		// IP, and so are the failed passwords that kills leave behind.
		c := clientFrom(fmt.Sprintf("127.0.1.%d", round))
		signer := clientFrom(fmt.Sprintf("127.0.2.%d", round))
		plain := fmt.Sprintf("r%d-plain@example.com", round) // an account without 2FA
		if status, body, _, err := signUp(c, p.base, map[string]string{"email": plain, "password": crashPassword, "name": "P"}); err != nil || status != 201 {
			t.Fatalf("round %d: signup = %d %v %v; want 201", round, status, body, err)
		}
		// Accounts that use codes in the window (backup, then TOTP), each
		// with a pending sign-in per code, and accounts to enable in it.
		n := backupAccounts + totpAccounts
		members := make([]*member, n+enables)
		pending := make([][]string, n)
		var wg sync.WaitGroup
		for i := range members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				email := fmt.Sprintf("r%d-%d@example.com", round, i)
				var m *member
				var err error
				if i < n {
					m, err = enrollMember(c, p.base, email, i < backupAccounts)
				} else {
					m, err = setUpMember(c, p.base, email)
				}
				if err != nil {
					t.Errorf("round %d: %v", round, err)
					return
				}
				members[i] = m
				uses := 0
				switch {
				case i < backupAccounts:
					uses = codesEach
				case i < n:
					uses = 1
				}
				for range uses {
					token, err := passwordStep(c, p.base, m.email)
					if err != nil {
						t.Errorf("round %d: %v", round, err)
						return
					}
					pending[i] = append(pending[i], token)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		everEnabled = append(everEnabled, members[:n]...)
		prepared := time.Since(roundStart)
		backupBefore, totpBefore, enabledBefore := len(ledger.backup), len(ledger.totp), len(ledger.enabled)

		// The window: everything at once until the kill. Random gaps
		// spread each account's requests over it.
		var killed atomic.Bool
		cutOff := func(what string, err error) {
			if killed.Load() {
				ledger.count("cut off by the kill")
				return
			}
			t.Errorf("round %d: %s before the kill: %v", round, what, err)
		}
		base := p.base
		flowing := make(chan struct{}) // closed at the first 200 of the window
		var flowingOnce sync.Once
		answered := func() { flowingOnce.Do(func() { close(flowing) }) }
		for i, m := range members {
			uses := 1
			if i < n {
				uses = len(pending[i])
			}
			gaps := make([]time.Duration, uses)
			for j := range gaps {
				gaps[j] = time.Duration(rng.Int64N(int64(150 * time.Millisecond)))
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i >= n {
					time.Sleep(gaps[0])
					if err := m.enable(c, base); err != nil {
						cutOff("enable", err)
						return
					}
					ledger.mu.Lock()
					ledger.enabled = append(ledger.enabled, m)
					ledger.mu.Unlock()
					answered()
					return
				}
				for j, token := range pending[i] {
					time.Sleep(gaps[j])
					code, at := "", time.Now().Add(totp.Period) // TOTP: one step ahead of the one enable used
					if m.codes != nil {
						code = m.codes[j]
					} else {
						code = totp.Code(m.secret, at)
					}
					status, body, _, err := send(c, base, "POST", "/session/two-factor", token, map[string]string{"code": code})
					if err != nil {
						cutOff("code step", err)
						return
					}
					if status != 200 || body["status"] != "authenticated" {
						t.Errorf("round %d: fresh code of %s = %d %v; want 200 authenticated", round, m.email, status, body)
						return
					}
					if m.codes != nil {
						ledger.accept(&ledger.backup, usedCode{m: m, code: code})
					} else {
						ledger.accept(&ledger.totp, usedCode{m: m, code: code, step: totp.Step(at)})
					}
					answered()
				}
			}()
		}
		wg.Add(1)
		go func() { // full sign-ins of an account without 2FA
			defer wg.Done()
			for {
				status, body, _, err := sendPatiently(signer, base, "POST", "/session", "", map[string]string{"email": plain, "password": crashPassword})
				if err != nil {
					cutOff("sign-in", err)
					return
				}
				if status != 200 || body["status"] != "authenticated" {
					t.Errorf("round %d: sign-in = %d %v; want 200 authenticated", round, status, body)
					return
				}
				ledger.count("sign-ins")
			}
		}()
		// The kill: at a random moment once answers are flowing.
		delay := time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
		windowStart := time.Now()
		select {
		case <-flowing:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: no code or enable answered 200 within 20s", round)
		}
		time.Sleep(delay)
		delay = time.Since(windowStart)
		killed.Store(true)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("round %d: SIGKILL: %v", round, err)
		}
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: process still alive 10s after SIGKILL", round)
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		newBackup, newTOTP, newEnabled := ledger.backup[backupBefore:], ledger.totp[totpBefore:], ledger.enabled[enabledBefore:]
		t.Logf("round %d: prepared in %v, SIGKILL %v into the window; answered 200 before it: %d backup codes, %d TOTP codes, %d enables",
			round, prepared.Round(time.Millisecond), delay.Round(time.Millisecond), len(newBackup), len(newTOTP), len(newEnabled))

		checkIntegrity(t, dbPath, fmt.Sprintf("after the SIGKILL of round %d", round))

		p = startBuild(t, bin, data)
		// TOTP first: a re-check means something only while the code is
		// still inside the accepted window (skew 1 step).
		for _, used := range [][]usedCode{newTOTP, newBackup} {
			byMember := map[*member][]usedCode{}
			var order []*member
			for _, u := range used {
				if byMember[u.m] == nil {
					order = append(order, u.m)
				}
				byMember[u.m] = append(byMember[u.m], u)
			}
			for _, m := range order {
				token, err := passwordStep(c, p.base, m.email)
				if err != nil {
					t.Fatalf("round %d: after the restart: %v", round, err)
				}
				for _, u := range byMember[m] { // a refused code leaves the sign-in pending: one password step serves all
					if u.step != 0 {
						if late := totp.Step(time.Now()) - u.step; late > 1 {
							t.Logf("round %d: TOTP re-check of %s is %d steps late; its 401 proves less", round, m.email, late)
						}
					}
					status, body, _, err := send(c, p.base, "POST", "/session/two-factor", token, map[string]string{"code": u.code})
					if err != nil || status != 401 || body["code"] != "invalid_code" {
						t.Errorf("round %d: code %q of %s, answered 200 before the SIGKILL, sent again after the restart = %d %v %v; want 401 invalid_code",
							round, u.code, m.email, status, body, err)
						if token, err = passwordStep(c, p.base, m.email); err != nil { // that sign-in is spent
							t.Fatalf("round %d: after the restart: %v", round, err)
						}
					}
				}
			}
		}
		everEnabled = append(everEnabled, newEnabled...)
		accepted := map[*member]int{}
		for _, u := range ledger.backup {
			accepted[u.m]++
		}
		for _, m := range everEnabled {
			status, body, _, err := send(c, p.base, "GET", "/me", m.token, nil)
			if err != nil || status != 200 {
				t.Errorf("round %d: GET /me of %s after the restart = %d %v %v; want 200", round, m.email, status, body, err)
				continue
			}
			tf, _ := body["two_factor"].(map[string]any)
			if tf["enabled"] != true {
				t.Errorf("round %d: 2FA of %s after the restart: two_factor = %v; want enabled true", round, m.email, tf)
			}
			if m.codes != nil {
				remaining, _ := tf["backup_codes_remaining"].(float64)
				if most := len(m.codes) - accepted[m]; int(remaining) > most {
					t.Errorf("round %d: %s has %d backup codes left after the restart; want at most %d (%d were accepted)", round, m.email, int(remaining), most, accepted[m])
				}
			}
		}
	}
	p.stop(t)
	checkIntegrity(t, dbPath, "after the last restart and SIGTERM")
	if len(ledger.backup) == 0 || len(ledger.totp) == 0 || len(ledger.enabled) == 0 {
		t.Errorf("answered 200 before a kill: %d backup codes, %d TOTP codes, %d enables; want some of each, or the test proves little",
			len(ledger.backup), len(ledger.totp), len(ledger.enabled))
	}
	t.Logf("%d rounds: %d backup codes, %d TOTP codes and %d enables answered 200 before a SIGKILL all held after the restart; %d accounts checked enabled after each; other traffic %v",
		rounds, len(ledger.backup), len(ledger.totp), len(ledger.enabled), len(everEnabled), ledger.counts)
}

// checkIntegrity opens the database file the way the server does (which
// recovers the WAL a killed process left) and runs PRAGMA integrity_check.
func checkIntegrity(t *testing.T, path, when string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open the database %s: %v", when, err)
	}
	defer st.Close()
	verdict, err := st.IntegrityCheck(ctx)
	if err != nil || verdict != "ok" {
		t.Fatalf("PRAGMA integrity_check %s = %q, %v; want ok", when, verdict, err)
	}
}

// SIGTERM while full password sign-ins (real argon2id, one at a time) are
// queued: every request that was sent gets its whole answer and the process
// exits 0.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	// 1 hash at a time, 16 may wait: sign-ins queue.
	p := start(t, t.TempDir(), "TWOFOLD_HASH_CONCURRENCY=1", "TWOFOLD_METRICS_ADDR=127.0.0.1:0")
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	if status, body, _, err := signUp(c, p.base, map[string]string{"email": "ana@example.com", "password": crashPassword, "name": "Ana"}); err != nil || status != 201 {
		t.Fatalf("signup = %d %v %v; want 201", status, body, err)
	}

	const n = 16
	type answer struct {
		status int
		body   map[string]any
		err    error
		at     time.Time
	}
	answers := make([]answer, n)
	var written, done sync.WaitGroup
	written.Add(n)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			var once sync.Once
			wrote := func() { once.Do(written.Done) }
			defer wrote() // in case the request failed before it was written
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote() }}
			b, _ := json.Marshal(map[string]string{"email": "ana@example.com", "password": crashPassword})
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", p.base+"/api/v1/session", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				answers[i] = answer{err: err, at: time.Now()}
				return
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			var m map[string]any
			if err == nil {
				err = json.Unmarshal(raw, &m)
			}
			answers[i] = answer{status: resp.StatusCode, body: m, err: err, at: time.Now()}
		}()
	}
	written.Wait()
	// A request the client has written may still wait in the kernel's
	// queue of connections the server has not accepted; closing the
	// listener resets those, and no server can answer them. The signal
	// comes once the server has every sign-in: being answered (in flight)
	// or answered already. A fixed pause was not enough on a busy machine.
	accepted := func() int {
		f := scrape(t, p.metrics)
		return int(value(f, "twofold_http_requests_in_flight") + value(f, "twofold_http_requests_total", "route", "POST /api/v1/session"))
	}
	for deadline := time.Now().Add(20 * time.Second); accepted() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server took %d of %d sign-ins in 20 s", accepted(), n)
		}
	}
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done.Wait()
	var exitErr error
	select {
	case exitErr = <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("twofold did not exit within 30s of SIGTERM")
	}
	if exitErr != nil {
		t.Errorf("exit after SIGTERM: %v; want status 0\n%s", exitErr, p.logs)
	}

	statuses := map[int]int{}
	afterSignal := 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("sign-in %d: %v; want a complete answer", i, a.err)
			continue
		case a.status == 200 && a.body["status"] == "authenticated":
		case a.status == 503 && a.body["code"] == "busy": // waited too long for the one hash slot: still a whole answer
		default:
			t.Errorf("sign-in %d = %d %v; want 200 authenticated (or 503 busy)", i, a.status, a.body)
		}
		statuses[a.status]++
		if a.at.After(signalled) && a.status == 200 {
			afterSignal++
		}
	}
	t.Logf("%d sign-ins sent before SIGTERM: statuses %v; %d completed with 200 after the signal", n, statuses, afterSignal)
	if afterSignal == 0 {
		t.Errorf("no sign-in completed after SIGTERM; want some in flight at the signal, or the test proves nothing")
	}
	if _, _, _, err := send(c, p.base, "GET", "/me", "", nil); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("request after exit: %v; want connection refused", err)
	}
}
