package browsertest

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/accounttest"
	_ "modernc.org/sqlite" // the server's own SQLite driver, to read the outbox and expire a pending sign-in
)

// server is one `twofold serve` process with a database of its own.
type server struct {
	base    string // http://127.0.0.1:PORT
	dataDir string
	logs    *accounttest.LogBuffer
	started time.Time
}

var (
	listening = regexp.MustCompile(`twofold is listening"? addr=(\S+)`)
	setupLink = regexp.MustCompile(`setup_url="?[^"\s]*(/invite\?token=[^"\s]+)`)
)

// setupPath is the path of the first administrator's setup link the
// server logged at start.
func (s *server) setupPath(t *testing.T) string {
	t.Helper()
	m := setupLink.FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("the server logged no setup link:\n%s", s.logs.String())
	}
	return m[1]
}

// startServer runs the real binary on a free loopback port with a fresh data
// directory, and stops it when the test ends. Its log is printed if the test
// fails.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, extraArgs...)
}

// startServerEnv is startServer with environment variables (KEY=value)
// added to the test's own, such as Twilio's, which have no flags.
func startServerEnv(t *testing.T, env []string, extraArgs ...string) *server {
	t.Helper()
	needBrowser(t)
	s := &server{dataDir: t.TempDir(), logs: &accounttest.LogBuffer{}, started: time.Now()}
	// The journeys start at sign-up: open sign-up (the default is by
	// invitation), unless extraArgs say otherwise (the last flag wins).
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", s.dataDir, "--log-level", "debug", "--signup", "open"}, extraArgs...)
	cmd := exec.Command(binary, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.logs.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("twofold exited with %v after SIGTERM; want 0", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("twofold did not stop within 20s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("twofold log:\n%s", s.logs.String())
		}
	})
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-done:
		t.Fatalf("twofold exited before listening: %v\n%s", err, s.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("twofold did not start within 30s\n%s", s.logs.String())
	}
	return s
}

// The server runs on the real clock and mails nothing in the tests, so in
// two places the suite reaches behind the pages into the server's SQLite
// file: to read the outbox, which stands for the person's mailbox, and to
// end a pending sign-in's window early (expirePendingSignIns).

// openDB opens the server's SQLite file; mode "ro" opens it read-only.
func (s *server) openDB(t *testing.T, mode string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if mode != "" {
		q.Set("mode", mode)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dataDir, "twofold.db")+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// outbox returns the bodies of the messages of one kind queued for
// recipient, newest first ("sign_up_link", "sign_up_attempt", …).
func (s *server) outbox(t *testing.T, kind, recipient string) []string {
	t.Helper()
	db := s.openDB(t, "ro")
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT body FROM outbox WHERE kind = ? AND recipient = ? ORDER BY id DESC`, kind, recipient)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	defer rows.Close()
	var bodies []string
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			t.Fatalf("read the outbox: %v", err)
		}
		bodies = append(bodies, body)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	return bodies
}

// signUpToken reads the token of the newest sign-up link mailed to email,
// waiting a few seconds for it. The link itself names the server's base URL,
// which for a server on port 0 is not where it listens, so the tests open
// the token on srv.base instead.
func (s *server) signUpToken(t *testing.T, email string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if bodies := s.outbox(t, "sign_up_link", email); len(bodies) > 0 {
			token, ok := accounttest.LinkToken(bodies[0])
			if !ok {
				t.Fatalf("the sign-up message to %s has no /signup/confirm?token= link:\n%s", email, bodies[0])
			}
			return token
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sign-up link queued for %s in the outbox within 10s", email)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expirePendingSignIns moves the end of every pending sign-in (password
// done, code not yet) into the past, which is what waiting out its 5-minute
// window does, by writing sessions.expires_at (in milliseconds). The server
// deletes expired sessions only about a minute after it starts, and the
// tests that use this take seconds, so the session is still there for the
// page to find expired.
func (s *server) expirePendingSignIns(t *testing.T) {
	t.Helper()
	if up := time.Since(s.started); up > 40*time.Second {
		t.Logf("the server has run for %v: its first clean-up of expired sessions (after 45 to 75 s) may remove the session before the page sees it expired", up.Round(time.Second))
	}
	db := s.openDB(t, "")
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := db.ExecContext(ctx, `UPDATE sessions SET expires_at = ? WHERE stage = 'two_factor_required'`, time.Now().Add(-time.Second).UnixMilli())
	if err != nil {
		t.Fatalf("expire pending sign-ins: %v", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("expire pending sign-ins: %d sessions changed, %v; want 1", n, err)
	}
}

// authenticator is the person's phone app: it computes codes with oathtool
// from the secret it scanned. Each 30-second step's code is accepted once,
// and the server accepts a code one step either side of its clock
// (--totp-skew 1, the default), so where a person would wait for the app to
// show a new code, the tests type the next step's code at once.
type authenticator struct {
	secret   string // base32
	lastStep int64  // the time step of the last code handed out
}

func timeStep(t time.Time) int64 { return t.Unix() / 30 }

// code returns a code of a step not handed out yet that the server accepts
// now: the current step's, or the step after the last one handed out if
// that is the current one (a code for step s is accepted while the clock is
// in s-1, s or s+1, so it stays good for at least 30 s, near a step
// boundary too). Only when the last code handed out was itself a next
// step's does it wait, until the step before its answer begins.
func (a *authenticator) code(t *testing.T) string {
	t.Helper()
	step := max(a.lastStep+1, timeStep(time.Now()))
	if begins := time.Unix((step-1)*30, 0); time.Now().Before(begins) {
		wait := time.Until(begins) + 10*time.Millisecond
		t.Logf("waiting %v for the next code", wait.Round(100*time.Millisecond))
		time.Sleep(wait)
	}
	a.lastStep = step
	return runOathtool(t, "--totp", "-b", "--now", "@"+strconv.FormatInt(step*30, 10), a.secret)
}

// wrongCode returns six digits that are no code of this secret from ten
// minutes before now to ten minutes after: refused, and not taken for the
// code of a phone whose clock is off.
func (a *authenticator) wrongCode(t *testing.T) string {
	t.Helper()
	from := time.Now().Add(-10 * time.Minute).Unix()
	out := runOathtool(t, "--totp", "-b", "-w", "41", "--now", "@"+strconv.FormatInt(from, 10), a.secret)
	near := map[string]bool{}
	for _, c := range strings.Fields(out) {
		near[c] = true
	}
	if len(near) == 0 {
		t.Fatalf("oathtool printed no codes")
	}
	for _, c := range []string{"000000", "123456", "111111", "654321"} {
		if !near[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

func runOathtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(oathtool, args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("oathtool %s: %v\n%s", strings.Join(args, " "), err, exit.Stderr)
		}
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}
