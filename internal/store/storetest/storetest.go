// Package storetest is the conformance suite every account.Store
// implementation must pass, unchanged: the SQLite store runs it now, the
// PostgreSQL store will run the same. It checks the contract of each method,
// and above all that the "use once" rules hold under concurrency.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// Opener returns a fresh, empty store for one test. open may be called
// several times within one test to get a second handle on the same database
// (as a second server instance would), when second is true.
type Opener func(t *testing.T) (first account.Store, second func() account.Store)

var ctx = context.Background()

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Users", testUsers},
		{"TOTPLifecycle", testTOTPLifecycle},
		{"AdvanceTOTPStepOnceUnderConcurrency", testAdvanceTOTPStepConcurrent},
		{"BackupCodes", testBackupCodes},
		{"BackupCodeOnceUnderConcurrency", testBackupCodeConcurrent},
		{"Sessions", testSessions},
		{"ReplaceSessionOnceUnderConcurrency", testReplaceSessionConcurrent},
		{"ThrottleLimitUnderConcurrency", testThrottleConcurrent},
		{"Events", testEvents},
		{"DeleteExpired", testDeleteExpired},
		{"SuspensionCountsEveryFailureOnce", testSuspension},
		{"DeleteExpiredClearsABacklog", testDeleteExpiredBacklog},
		{"PendingSignUps", testPendingSignUps},
		{"CompleteSignUpOnceUnderConcurrency", testCompleteSignUpConcurrent},
		{"EventAndNotificationInOneTransaction", testEventAndNotification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func newUser(t *testing.T, s account.Store, email string) *account.User {
	t.Helper()
	u := &account.User{Email: email, Name: "Ana", PasswordHash: "$argon2id$x", CreatedAt: t0}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%q) = %v", email, err)
	}
	return u
}

func enabledUser(t *testing.T, s account.Store, email string) *account.User {
	t.Helper()
	u := newUser(t, s, email)
	secret := account.SealedSecret{KeyID: "k1", Ciphertext: []byte{1, 2, 3}}
	if err := s.SetPendingTOTP(ctx, u.ID, secret); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, u.ID, secret, 100, t0); err != nil {
		t.Fatal(err)
	}
	return u
}

func testUsers(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	if u.ID == 0 {
		t.Fatal("CreateUser left ID 0")
	}
	if err := s.CreateUser(ctx, &account.User{Email: "ana@example.com", Name: "x", PasswordHash: "h", CreatedAt: t0}); !errors.Is(err, account.ErrEmailTaken) {
		t.Errorf("CreateUser(duplicate email) = %v; want ErrEmailTaken", err)
	}
	got, err := s.UserByEmail(ctx, "ana@example.com")
	if err != nil || got.ID != u.ID || got.Name != "Ana" || !got.CreatedAt.Equal(t0) || got.TwoFactorEnabled() || got.PendingTOTP != nil {
		t.Errorf("UserByEmail = %+v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UserByEmail(unknown) = %v; want ErrNotFound", err)
	}
	if _, err := s.UserByID(ctx, u.ID+1000); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v; want ErrNotFound", err)
	}
	if err := s.UpdateProfile(ctx, u.ID, "Ana B", "+61412345678"); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdatePasswordHash(ctx, u.ID, "$argon2id$y"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.UserByID(ctx, u.ID)
	if got.Name != "Ana B" || got.MobilePhone != "+61412345678" || got.PasswordHash != "$argon2id$y" {
		t.Errorf("after updates: %+v", got)
	}
	if err := s.UpdateProfile(ctx, u.ID+1000, "x", ""); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UpdateProfile(unknown) = %v; want ErrNotFound", err)
	}
	newUser(t, s, "bo@example.com")
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Email != "ana@example.com" {
		t.Errorf("ListUsers = %d users, %v", len(users), err)
	}
}

func testTOTPLifecycle(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	first := account.SealedSecret{KeyID: "k1", Ciphertext: []byte("first")}
	second := account.SealedSecret{KeyID: "k1", Ciphertext: []byte("second")}
	if err := s.SetPendingTOTP(ctx, u.ID, first); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPendingTOTP(ctx, u.ID, second); err != nil {
		t.Fatal(err)
	}
	// Enabling with a secret that is no longer the pending one is a conflict.
	if err := s.EnableTOTP(ctx, u.ID, first, 10, t0); !errors.Is(err, account.ErrConflict) {
		t.Errorf("EnableTOTP(stale pending secret) = %v; want ErrConflict", err)
	}
	if ok, _ := s.AdvanceTOTPStep(ctx, u.ID, 5); ok {
		t.Error("AdvanceTOTPStep succeeded while 2FA is off")
	}
	if err := s.EnableTOTP(ctx, u.ID, second, 10, t0); err != nil {
		t.Fatalf("EnableTOTP = %v", err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if !got.TwoFactorEnabled() || string(got.TOTP.Secret.Ciphertext) != "second" || got.TOTP.LastStep != 10 || got.PendingTOTP != nil {
		t.Errorf("after EnableTOTP: %+v pending %+v", got.TOTP, got.PendingTOTP)
	}
	if err := s.EnableTOTP(ctx, u.ID, second, 11, t0); !errors.Is(err, account.ErrConflict) {
		t.Errorf("EnableTOTP twice = %v; want ErrConflict", err)
	}
	if err := s.SetPendingTOTP(ctx, u.ID, first); !errors.Is(err, account.ErrTwoFactorEnabled) {
		t.Errorf("SetPendingTOTP while enabled = %v; want ErrTwoFactorEnabled", err)
	}
	for _, tt := range []struct {
		step int64
		want bool
	}{{10, false}, {9, false}, {11, true}, {11, false}, {13, true}, {12, false}} {
		if ok, err := s.AdvanceTOTPStep(ctx, u.ID, tt.step); ok != tt.want || err != nil {
			t.Errorf("AdvanceTOTPStep(%d) = %v, %v; want %v", tt.step, ok, err, tt.want)
		}
	}
	if err := s.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"h1"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableTOTP(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.UserByID(ctx, u.ID)
	if n, _ := s.CountBackupCodes(ctx, u.ID); got.TwoFactorEnabled() || n != 0 {
		t.Errorf("after DisableTOTP: enabled %v, %d backup codes", got.TwoFactorEnabled(), n)
	}
}

// concurrently runs fn n times at once and counts the true results.
func concurrently(t *testing.T, n int, fn func(i int) (bool, error)) int {
	t.Helper()
	var wg sync.WaitGroup
	var ok atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			won, err := fn(i)
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
			if won {
				ok.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(ok.Load())
}

// handles alternates between two handles on one database when the store
// supports a second one, as two instances would.
func handles(open Opener, t *testing.T) (account.Store, func(i int) account.Store) {
	s, second := open(t)
	other := s
	if second != nil {
		other = second()
	}
	return s, func(i int) account.Store {
		if i%2 == 1 {
			return other
		}
		return s
	}
}

func testAdvanceTOTPStepConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := enabledUser(t, s, "ana@example.com")
	if n := concurrently(t, 40, func(i int) (bool, error) { return pick(i).AdvanceTOTPStep(ctx, u.ID, 101) }); n != 1 {
		t.Errorf("40 concurrent AdvanceTOTPStep(101): %d succeeded; want 1", n)
	}
}

func testBackupCodes(t *testing.T, open Opener) {
	s, _ := open(t)
	u := enabledUser(t, s, "ana@example.com")
	other := enabledUser(t, s, "bo@example.com")
	if err := s.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b", "c"}, t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 3 {
		t.Errorf("CountBackupCodes = %d; want 3", n)
	}
	if ok, _ := s.UseBackupCode(ctx, other.ID, "a", t0); ok {
		t.Error("another user's backup code was accepted")
	}
	if ok, err := s.UseBackupCode(ctx, u.ID, "a", t0); !ok || err != nil {
		t.Errorf("UseBackupCode(a) = %v, %v; want true", ok, err)
	}
	if ok, _ := s.UseBackupCode(ctx, u.ID, "a", t0); ok {
		t.Error("UseBackupCode(a) twice succeeded")
	}
	if ok, _ := s.UseBackupCode(ctx, u.ID, "zz", t0); ok {
		t.Error("UseBackupCode(unknown) succeeded")
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 2 {
		t.Errorf("CountBackupCodes after one use = %d; want 2", n)
	}
	if err := s.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"d", "e"}, t0); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UseBackupCode(ctx, u.ID, "b", t0); ok {
		t.Error("a replaced backup code was accepted")
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 2 {
		t.Errorf("CountBackupCodes after replace = %d; want 2", n)
	}
}

func testBackupCodeConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := enabledUser(t, s, "ana@example.com")
	if err := s.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b"}, t0); err != nil {
		t.Fatal(err)
	}
	if n := concurrently(t, 40, func(i int) (bool, error) { return pick(i).UseBackupCode(ctx, u.ID, "a", t0) }); n != 1 {
		t.Errorf("40 concurrent UseBackupCode: %d succeeded; want 1", n)
	}
}

func session(userID int64, hash string, stage account.Stage) *account.Session {
	return &account.Session{TokenHash: hash, UserID: userID, Stage: stage, CreatedAt: t0, LastSeenAt: t0,
		AuthenticatedAt: t0, ExpiresAt: t0.Add(time.Hour), IP: "192.0.2.1", UserAgent: "ua"}
}

func testSessions(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	if err := s.CreateSession(ctx, session(u.ID, "h1", account.StageSecondFactor)); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByTokenHash(ctx, "h1")
	if err != nil || got.UserID != u.ID || got.Stage != account.StageSecondFactor || !got.ExpiresAt.Equal(t0.Add(time.Hour)) || got.IP != "192.0.2.1" {
		t.Fatalf("SessionByTokenHash = %+v, %v", got, err)
	}
	if _, err := s.SessionByTokenHash(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("SessionByTokenHash(unknown) = %v; want ErrNotFound", err)
	}
	if err := s.ReplaceSession(ctx, "h1", session(u.ID, "h2", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByTokenHash(ctx, "h1"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("replaced session still found: %v", err)
	}
	if err := s.ReplaceSession(ctx, "h1", session(u.ID, "h3", account.StageComplete)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("ReplaceSession of a gone session = %v; want ErrNotFound", err)
	}
	if _, err := s.SessionByTokenHash(ctx, "h3"); !errors.Is(err, account.ErrNotFound) {
		t.Error("a failed ReplaceSession left its new session behind")
	}
	later := t0.Add(10 * time.Minute)
	if err := s.TouchSession(ctx, "h2", later); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSessionAuthenticatedAt(ctx, "h2", later); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SessionByTokenHash(ctx, "h2")
	if !got.LastSeenAt.Equal(later) || !got.AuthenticatedAt.Equal(later) {
		t.Errorf("after touch: last seen %v, authenticated %v; want %v", got.LastSeenAt, got.AuthenticatedAt, later)
	}
	s.CreateSession(ctx, session(u.ID, "h4", account.StageComplete))
	s.CreateSession(ctx, session(u.ID, "h5", account.StageComplete))
	if err := s.DeleteUserSessions(ctx, u.ID, "h4"); err != nil {
		t.Fatal(err)
	}
	for hash, want := range map[string]bool{"h2": false, "h4": true, "h5": false} {
		_, err := s.SessionByTokenHash(ctx, hash)
		if (err == nil) != want {
			t.Errorf("after DeleteUserSessions(keep h4): %s found = %v; want %v", hash, err == nil, want)
		}
	}
	if err := s.DeleteSession(ctx, "h4"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "h4"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("DeleteSession twice = %v; want ErrNotFound", err)
	}
}

func testReplaceSessionConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := newUser(t, s, "ana@example.com")
	if err := s.CreateSession(ctx, session(u.ID, "pending", account.StageSecondFactor)); err != nil {
		t.Fatal(err)
	}
	n := concurrently(t, 20, func(i int) (bool, error) {
		err := pick(i).ReplaceSession(ctx, "pending", session(u.ID, fmt.Sprintf("next-%d", i), account.StageComplete))
		if errors.Is(err, account.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	if n != 1 {
		t.Errorf("20 concurrent ReplaceSession of one pending session: %d succeeded; want 1", n)
	}
}

func testThrottleConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	window := t0.Add(-15 * time.Minute)
	n := concurrently(t, 30, func(i int) (bool, error) {
		_, ok, _, err := pick(i).ReserveAttempt(ctx, "code:user:1", t0, window, 10)
		return ok, err
	})
	if n != 10 {
		t.Errorf("30 concurrent ReserveAttempt with limit 10: %d reserved; want 10", n)
	}
	_, ok, oldest, err := s.ReserveAttempt(ctx, "code:user:1", t0.Add(time.Minute), window.Add(time.Minute), 10)
	if ok || err != nil || !oldest.Equal(t0) {
		t.Errorf("ReserveAttempt when full = ok %v, oldest %v, %v; want refused with oldest %v", ok, oldest, err, t0)
	}
	// Another key is counted separately.
	if _, ok, _, _ := s.ReserveAttempt(ctx, "code:user:2", t0, window, 10); !ok {
		t.Error("ReserveAttempt for another key refused")
	}
	// Released attempts do not count; attempts older than the window do not count.
	id, ok, _, _ := s.ReserveAttempt(ctx, "k", t0, window, 1)
	if !ok {
		t.Fatal("first ReserveAttempt(k) refused")
	}
	if err := s.ReleaseAttempt(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok, _, _ := s.ReserveAttempt(ctx, "k", t0, window, 1); !ok {
		t.Error("ReserveAttempt after release refused")
	}
	later := t0.Add(16 * time.Minute)
	if _, ok, _, _ := s.ReserveAttempt(ctx, "k", later, later.Add(-15*time.Minute), 1); !ok {
		t.Error("ReserveAttempt after the window passed refused")
	}
}

func testEvents(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	for i, kind := range []account.EventKind{account.EventSignUp, account.EventSignIn, account.EventTwoFactorEnabled} {
		e := &account.Event{UserID: u.ID, Kind: kind, IP: "192.0.2.1", UserAgent: "ua", Detail: "d", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
		if err := s.AddEvent(ctx, e); err != nil || e.ID == 0 {
			t.Fatalf("AddEvent = %v (id %d)", err, e.ID)
		}
	}
	events, err := s.Events(ctx, u.ID, 2)
	if err != nil || len(events) != 2 {
		t.Fatalf("Events(limit 2) = %d, %v", len(events), err)
	}
	if events[0].Kind != account.EventTwoFactorEnabled || events[1].Kind != account.EventSignIn || !events[0].CreatedAt.Equal(t0.Add(2*time.Second)) {
		t.Errorf("Events = %s, %s; want newest first", events[0].Kind, events[1].Kind)
	}
}

func testDeleteExpired(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	expired := session(u.ID, "expired", account.StageComplete)
	expired.ExpiresAt = t0.Add(-time.Second)
	idle := session(u.ID, "idle", account.StageComplete)
	idle.LastSeenAt = t0.Add(-time.Hour)
	for _, sess := range []*account.Session{expired, idle, session(u.ID, "live", account.StageComplete)} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	s.ReserveAttempt(ctx, "old", t0.Add(-time.Hour), t0.Add(-2*time.Hour), 1)
	s.ReserveAttempt(ctx, "new", t0, t0.Add(-time.Hour), 1)
	if err := s.DeleteExpired(ctx, t0, t0.Add(-30*time.Minute), t0.Add(-time.Hour), t0.Add(-15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for hash, want := range map[string]bool{"expired": false, "idle": false, "live": true} {
		if _, err := s.SessionByTokenHash(ctx, hash); (err == nil) != want {
			t.Errorf("after DeleteExpired: session %s found = %v; want %v", hash, err == nil, want)
		}
	}
	// The old attempt is gone (room again), the new one still counts.
	if _, ok, _, _ := s.ReserveAttempt(ctx, "old", t0, t0.Add(-2*time.Hour), 1); !ok {
		t.Error("old throttle attempt survived DeleteExpired")
	}
	if _, ok, _, _ := s.ReserveAttempt(ctx, "new", t0, t0.Add(-time.Hour), 1); ok {
		t.Error("recent throttle attempt was deleted by DeleteExpired")
	}
}

func testSuspension(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := enabledUser(t, s, "ana@example.com")
	var mu sync.Mutex
	suspendedCalls := 0
	concurrently(t, 40, func(i int) (bool, error) {
		_, suspended, err := pick(i).RecordSecondFactorFailure(ctx, u.ID, 30, t0)
		if suspended {
			mu.Lock()
			suspendedCalls++
			mu.Unlock()
		}
		return false, err
	})
	got, _ := s.UserByID(ctx, u.ID)
	if got.TOTP.Failures != 40 || !got.TOTP.Suspended() || !got.TOTP.SuspendedAt.Equal(t0) {
		t.Errorf("after 40 concurrent failures: failures %d, suspended at %v; want 40 and %v", got.TOTP.Failures, got.TOTP.SuspendedAt, t0)
	}
	if suspendedCalls != 1 {
		t.Errorf("%d calls reported the suspension; want exactly 1", suspendedCalls)
	}
	if err := s.ClearSecondFactorFailures(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.TOTP.Failures != 0 || !got.TOTP.Suspended() {
		t.Errorf("clear without unsuspend: failures %d, suspended %v; want 0, true", got.TOTP.Failures, got.TOTP.Suspended())
	}
	if err := s.ClearSecondFactorFailures(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.TOTP.Suspended() {
		t.Error("clear with unsuspend left the authenticator suspended")
	}
	s.RecordSecondFactorFailure(ctx, u.ID, 1, t0)
	if err := s.DisableTOTP(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	secret := account.SealedSecret{KeyID: "k1", Ciphertext: []byte{9}}
	s.SetPendingTOTP(ctx, u.ID, secret)
	s.EnableTOTP(ctx, u.ID, secret, 1, t0)
	if got, _ := s.UserByID(ctx, u.ID); got.TOTP.Failures != 0 || got.TOTP.Suspended() {
		t.Errorf("after disable and enable: failures %d, suspended %v; want a clean slate", got.TOTP.Failures, got.TOTP.Suspended())
	}
	if err := s.AddNotification(ctx, &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventTwoFactorEnabled, Subject: "s", Body: "b", CreatedAt: t0}); err != nil {
		t.Errorf("AddNotification = %v", err)
	}
}

// More expired rows than one cleanup batch holds are all deleted in one call.
func testDeleteExpiredBacklog(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	const n = 2100
	for i := range n {
		sess := session(u.ID, fmt.Sprintf("expired-%d", i), account.StageComplete)
		sess.ExpiresAt = t0.Add(-time.Second)
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, session(u.ID, "live", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExpired(ctx, t0, t0.Add(-30*time.Minute), t0.Add(-time.Hour), t0.Add(-15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, hash := range []string{"expired-0", "expired-1000", fmt.Sprintf("expired-%d", n-1)} {
		if _, err := s.SessionByTokenHash(ctx, hash); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("session %s after DeleteExpired = %v; want deleted", hash, err)
		}
	}
	if _, err := s.SessionByTokenHash(ctx, "live"); err != nil {
		t.Errorf("live session after DeleteExpired = %v; want kept", err)
	}
}

func pendingSignUp(t *testing.T, s account.Store, email, tokenHash string, expires time.Time) *account.PendingSignUp {
	t.Helper()
	p := &account.PendingSignUp{TokenHash: tokenHash, Email: email, Name: "Bo", MobilePhone: "+61412345678",
		PasswordHash: "$argon2id$p", CreatedAt: t0, ExpiresAt: expires}
	n := &account.Notification{Recipient: email, Kind: account.NotificationSignUpLink, Subject: "s", Body: "link", CreatedAt: t0}
	if err := s.CreatePendingSignUp(ctx, p, n); err != nil {
		t.Fatalf("CreatePendingSignUp(%s) = %v", email, err)
	}
	if p.ID == 0 || n.ID == 0 {
		t.Fatalf("CreatePendingSignUp set ids %d and %d; want both", p.ID, n.ID)
	}
	return p
}

func testPendingSignUps(t *testing.T, open Opener) {
	s, _ := open(t)
	first := pendingSignUp(t, s, "bo@example.com", "t1", t0.Add(time.Hour))
	second := pendingSignUp(t, s, "bo@example.com", "t2", t0.Add(time.Hour))
	other := pendingSignUp(t, s, "cy@example.com", "t3", t0.Add(time.Hour))
	got, err := s.PendingSignUpByTokenHash(ctx, "t1")
	if err != nil || *got != *first {
		t.Errorf("PendingSignUpByTokenHash(t1) = %+v, %v; want %+v", got, err, first)
	}
	if _, err := s.PendingSignUpByTokenHash(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("PendingSignUpByTokenHash(unknown) = %v; want ErrNotFound", err)
	}

	u := &account.User{Email: first.Email, Name: first.Name, MobilePhone: first.MobilePhone, PasswordHash: first.PasswordHash, CreatedAt: t0}
	sess := session(0, "s1", account.StageComplete)
	if err := s.CompleteSignUp(ctx, first.ID, t0, u, sess); err != nil {
		t.Fatalf("CompleteSignUp = %v", err)
	}
	if u.ID == 0 || sess.UserID != u.ID {
		t.Errorf("CompleteSignUp set user id %d, session user id %d; want equal and set", u.ID, sess.UserID)
	}
	if got, err := s.UserByEmail(ctx, "bo@example.com"); err != nil || got.ID != u.ID || got.MobilePhone != "+61412345678" {
		t.Errorf("UserByEmail after CompleteSignUp = %+v, %v", got, err)
	}
	if got, err := s.SessionByTokenHash(ctx, "s1"); err != nil || got.UserID != u.ID {
		t.Errorf("SessionByTokenHash after CompleteSignUp = %+v, %v", got, err)
	}
	for hash, want := range map[string]bool{"t1": false, "t2": false, "t3": true} {
		if _, err := s.PendingSignUpByTokenHash(ctx, hash); (err == nil) != want {
			t.Errorf("after CompleteSignUp: pending sign-up %s found = %v; want %v", hash, err == nil, want)
		}
	}
	if err := s.CompleteSignUp(ctx, second.ID, t0, &account.User{Email: "bo@example.com", Name: "Bo", PasswordHash: "x", CreatedAt: t0}, session(0, "s2", account.StageComplete)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("CompleteSignUp of a voided sign-up = %v; want ErrNotFound", err)
	}

	// The email got an account meanwhile: nothing is written at all.
	newUser(t, s, "cy@example.com")
	err = s.CompleteSignUp(ctx, other.ID, t0, &account.User{Email: "cy@example.com", Name: "Cy", PasswordHash: "x", CreatedAt: t0}, session(0, "s3", account.StageComplete))
	if !errors.Is(err, account.ErrEmailTaken) {
		t.Errorf("CompleteSignUp for a taken email = %v; want ErrEmailTaken", err)
	}
	if _, err := s.SessionByTokenHash(ctx, "s3"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("session of the refused sign-up: %v; want ErrNotFound (rolled back)", err)
	}
	if _, err := s.PendingSignUpByTokenHash(ctx, "t3"); err != nil {
		t.Errorf("pending sign-up of the refused CompleteSignUp: %v; want kept (rolled back)", err)
	}

	// An expired link finishes nothing, even before the cleanup job runs.
	expired := pendingSignUp(t, s, "dee@example.com", "expired", t0)
	if err := s.CompleteSignUp(ctx, expired.ID, t0, &account.User{Email: "dee@example.com", Name: "Dee", PasswordHash: "x", CreatedAt: t0}, session(0, "s4", account.StageComplete)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("CompleteSignUp of an expired sign-up = %v; want ErrNotFound", err)
	}
	// Wrong passwords spend a link at the limit, not before.
	spend := pendingSignUp(t, s, "fay@example.com", "spend", t0.Add(time.Hour))
	for i := 1; i <= 3; i++ {
		spent, err := s.RecordSignUpFailure(ctx, spend.ID, 3)
		if err != nil || spent != (i == 3) {
			t.Errorf("RecordSignUpFailure %d of 3 = %v, %v; want spent only at 3", i, spent, err)
		}
	}
	if _, err := s.PendingSignUpByTokenHash(ctx, "spend"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("a spent pending sign-up: %v; want ErrNotFound", err)
	}
	// Expired links go with the cleanup job; live ones stay.
	pendingSignUp(t, s, "eve@example.com", "live", t0.Add(time.Second))
	if err := s.DeleteExpired(ctx, t0, t0.Add(-30*time.Minute), t0.Add(-time.Hour), t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for hash, want := range map[string]bool{"expired": false, "live": true} {
		if _, err := s.PendingSignUpByTokenHash(ctx, hash); (err == nil) != want {
			t.Errorf("after DeleteExpired: pending sign-up %s found = %v; want %v", hash, err == nil, want)
		}
	}
}

// outboxReader is what both stores offer the CLI beyond account.Store.
type outboxReader interface {
	Notifications(ctx context.Context, limit int) ([]*account.Notification, error)
}

func testEventAndNotification(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	e := &account.Event{UserID: u.ID, Kind: account.EventSignUpAttempt, IP: "192.0.2.1", UserAgent: "ua", CreatedAt: t0}
	n := &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventSignUpAttempt, Subject: "s", Body: "b", CreatedAt: t0}
	if err := s.AddEventAndNotification(ctx, e, n); err != nil || e.ID == 0 || n.ID == 0 {
		t.Fatalf("AddEventAndNotification = %v (ids %d, %d)", err, e.ID, n.ID)
	}
	events, err := s.Events(ctx, u.ID, 10)
	if err != nil || len(events) != 1 || events[0].Kind != account.EventSignUpAttempt {
		t.Errorf("Events = %v, %v; want the one sign-up attempt", events, err)
	}
	reader, ok := s.(outboxReader)
	if !ok {
		t.Fatal("the store cannot list its outbox")
	}
	// An event for a user that does not exist fails, and queues nothing.
	bad := &account.Event{UserID: u.ID + 1000, Kind: account.EventSignUpAttempt, CreatedAt: t0}
	if err := s.AddEventAndNotification(ctx, bad, &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventSignUpAttempt, Subject: "s", Body: "lost", CreatedAt: t0}); err == nil {
		t.Error("AddEventAndNotification for an unknown user = nil; want an error")
	}
	msgs, err := reader.Notifications(ctx, 10)
	if err != nil || len(msgs) != 1 || msgs[0].ID != n.ID || msgs[0].UserID != u.ID {
		t.Errorf("outbox = %+v, %v; want only message %d of user %d", msgs, err, n.ID, u.ID)
	}

	// Messages carrying sign-up links go once the links have expired.
	pendingSignUp(t, s, "old@example.com", "t-old", t0.Add(time.Hour))
	if err := s.DeleteExpired(ctx, t0, t0.Add(-30*time.Minute), t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	msgs, _ = reader.Notifications(ctx, 10)
	for _, m := range msgs {
		if m.Kind == account.NotificationSignUpLink {
			t.Errorf("sign-up link message %d queued at %v survived DeleteExpired(linksBefore %v)", m.ID, m.CreatedAt, t0)
		}
	}
	if len(msgs) != 1 {
		t.Errorf("%d messages after DeleteExpired; want the notice kept", len(msgs))
	}
}

func testCompleteSignUpConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	p := pendingSignUp(t, s, "bo@example.com", "t1", t0.Add(time.Hour))
	n := concurrently(t, 40, func(i int) (bool, error) {
		u := &account.User{Email: p.Email, Name: p.Name, PasswordHash: p.PasswordHash, CreatedAt: t0}
		err := pick(i).CompleteSignUp(ctx, p.ID, t0, u, session(0, fmt.Sprintf("s%d", i), account.StageComplete))
		if errors.Is(err, account.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	if n != 1 {
		t.Errorf("40 concurrent CompleteSignUp of one sign-up: %d succeeded; want 1", n)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 1 {
		t.Errorf("users after the race = %d, %v; want 1", len(users), err)
	}
}
