// Package storetest is the conformance suite every account.Store
// implementation must pass, unchanged: the SQLite and the PostgreSQL store
// both run it. It checks the contract of each method, that a transaction
// (Store.InTx) commits all of its writes or none, and above all that the
// "use once" and "only if" rules hold under concurrency, from two handles on
// one database as two instances would use it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

// Opener returns a fresh, empty store for one test. second, when not nil,
// opens another handle on the same database (as a second server instance
// would have), and may be called several times within one test.
type Opener func(t *testing.T) (first account.Store, second func() account.Store)

var ctx = context.Background()

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// Run runs the whole suite. Each test opens a store of its own (open gives
// a fresh, empty one every time), so they run in parallel: on PostgreSQL
// most of a test's time is creating and dropping its database.
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
		{"SessionProfile", testSessionProfile},
		{"ReplaceSessionOnceUnderConcurrency", testReplaceSessionConcurrent},
		{"ThrottleLimitUnderConcurrency", testThrottleConcurrent},
		{"ReserveAttemptsAllOrNone", testReserveAttemptsAllOrNone},
		{"ReserveAttemptsLimitUnderConcurrency", testReserveAttemptsConcurrent},
		{"Events", testEvents},
		{"DeleteExpired", testDeleteExpired},
		{"SuspensionCountsEveryFailureOnce", testSuspension},
		{"SuspendedAuthenticatorUsesNoCode", testSuspendedUsesNoCode},
		{"DeleteExpiredClearsABacklog", testDeleteExpiredBacklog},
		{"PendingSignUps", testPendingSignUps},
		{"CompleteSignUpOnceUnderConcurrency", testCompleteSignUpConcurrent},
		{"CompleteSignUpMarksItsLinkUsed", testSignUpLinkUsed},
		{"EventAndNotificationInOneTransaction", testEventAndNotification},
		{"OutboxChannels", testOutboxChannels},
		{"InTxCommitsAllOrNothing", testInTxAllOrNothing},
		{"InTxAllOrNothingUnderConcurrency", testInTxConcurrent},
		{"StoreWriteInsideInTxFails", testStoreWriteInsideInTx},
		{"SecurityVersion", testSecurityVersion},
		{"RequireSecurityVersion", testRequireSecurityVersion},
		{"RequireSecurityVersionThenWriteUnderConcurrency", testRequireThenWriteConcurrent},
		{"ConditionalWritesWriteNothingWhenRefused", testConditionalWrites},
		{"RaceSignInAgainstPasswordChange", testRaceSessionAgainstPasswordChange},
		{"RaceBackupCodesAgainstDisable", testRaceBackupCodesAgainstDisable},
		{"RacePhoneRemovalAgainstEnable", testRacePhoneRemovalAgainstEnable},
		{"RaceHeldSessionAgainstSignOut", testRaceHoldSessionAgainstDelete},
		{"RememberedDevices", testRememberedDevices},
		{"RotateDeviceOnceUnderConcurrency", testRotateDeviceConcurrent},
		{"HelpRequests", testHelpRequests},
		{"PhoneVerifications", testPhoneVerifications},
		{"ConsumePhoneVerificationOnceUnderConcurrency", testConsumePhoneVerificationConcurrent},
		{"FailPhoneVerificationCountsEachOnceUnderConcurrency", testFailPhoneVerificationConcurrent},
		{"ProtectedApps", testProtectedApps},
		{"RequireProtectedApp", testRequireProtectedApp},
		{"SessionForAppAndAppsVersion", testSessionForAppVersion},
		{"RaceRuleChangeAgainstDecisions", testRaceRuleChangeAgainstDecisions},
		{"SessionForAppUnderConcurrency", testSessionForAppUnderConcurrency},
		{"SignOutSeenByReadsUnderLoad", testSignOutSeenByReadsUnderLoad},
		{"Disavowals", testDisavowals},
		{"UseDisavowalOnceUnderConcurrency", testUseDisavowalConcurrent},
		{"OIDCClients", testOIDCClients},
		{"OIDCAuthRequests", testOIDCAuthRequests},
		{"OIDCGrantsAndTokens", testOIDCGrantsAndTokens},
		{"OIDCSubjects", testOIDCSubjects},
		{"OIDCSigningKeys", testOIDCSigningKeys},
		{"OIDCDeleteClientCascades", testOIDCDeleteClientCascades},
		{"OIDCDeleteExpired", testOIDCDeleteExpired},
		{"UseOIDCRefreshTokenOnceUnderConcurrency", testUseOIDCRefreshTokenConcurrent},
		{"RaceOIDCRefreshAgainstRevoke", testRaceRefreshAgainstRevoke},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

// phone is the mobile number of the users newUser creates: EnableTOTP
// needs one.
const phone = "+61400000000"

var secret = account.SealedSecret{KeyID: "k1", Ciphertext: []byte{1, 2, 3}}

func newUser(t *testing.T, s account.Store, email string) *account.User {
	t.Helper()
	u := &account.User{Email: email, Name: "Ana", MobilePhone: phone, PasswordHash: "$argon2id$x", CreatedAt: t0}
	if err := AutoCommit(s).CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%q) = %v", email, err)
	}
	return u
}

func enabledUser(t *testing.T, s account.Store, email string) *account.User {
	t.Helper()
	u := newUser(t, s, email)
	a := AutoCommit(s)
	if err := a.SetPendingTOTP(ctx, u.ID, secret); err != nil {
		t.Fatal(err)
	}
	if err := a.EnableTOTP(ctx, u.ID, secret, 100, t0); err != nil {
		t.Fatal(err)
	}
	return reload(t, s, u.ID)
}

// reload reads the user as stored now.
func reload(t *testing.T, s account.Store, id int64) *account.User {
	t.Helper()
	u, err := s.UserByID(ctx, id)
	if err != nil {
		t.Fatalf("UserByID(%d) = %v", id, err)
	}
	return u
}

// codeCounter is what both stores offer tests beyond account.Store: the
// service reads the count with the session (Session.Profile), which shows
// none while 2FA is off.
type codeCounter interface {
	CountBackupCodes(ctx context.Context, userID int64) (int, error)
}

// backupCodes counts the user's unused backup codes, whether 2FA is on or not.
func backupCodes(t *testing.T, s account.Store, userID int64) int {
	t.Helper()
	c, ok := s.(codeCounter)
	if !ok {
		t.Fatal("the store cannot count backup codes")
	}
	n, err := c.CountBackupCodes(ctx, userID)
	if err != nil {
		t.Fatalf("CountBackupCodes(%d) = %v", userID, err)
	}
	return n
}

// outboxReader is what both stores offer the CLI beyond account.Store.
type outboxReader interface {
	Notifications(ctx context.Context, limit int) ([]*account.Notification, error)
}

func outbox(t *testing.T, s account.Store) []*account.Notification {
	t.Helper()
	r, ok := s.(outboxReader)
	if !ok {
		t.Fatal("the store cannot list its outbox")
	}
	msgs, err := r.Notifications(ctx, 1000)
	if err != nil {
		t.Fatalf("Notifications = %v", err)
	}
	return msgs
}

func events(t *testing.T, s account.Store, userID int64) []*account.Event {
	t.Helper()
	ev, err := s.Events(ctx, userID, 1000)
	if err != nil {
		t.Fatalf("Events(%d) = %v", userID, err)
	}
	return ev
}

// okOr turns a conditional write's false into an error.
func okOr(what string, ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s = false; want true", what)
	}
	return nil
}

func limits(window time.Duration, keyLimit ...any) []account.AttemptLimit {
	var out []account.AttemptLimit
	for i := 0; i < len(keyLimit); i += 2 {
		out = append(out, account.AttemptLimit{Key: keyLimit[i].(string), Limit: keyLimit[i+1].(int), Window: window})
	}
	return out
}

func testUsers(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	if u.ID == 0 {
		t.Fatal("CreateUser left ID 0")
	}
	if err := a.CreateUser(ctx, &account.User{Email: "ana@example.com", Name: "x", PasswordHash: "h", CreatedAt: t0}); !errors.Is(err, account.ErrEmailTaken) {
		t.Errorf("CreateUser(duplicate email) = %v; want ErrEmailTaken", err)
	}
	got, err := s.UserByEmail(ctx, "ana@example.com")
	if err != nil || got.ID != u.ID || got.Name != "Ana" || got.MobilePhone != phone || !got.CreatedAt.Equal(t0) ||
		got.TwoFactorEnabled() || got.PendingTOTP != nil || got.SecurityVersion != 0 {
		t.Errorf("UserByEmail = %+v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UserByEmail(unknown) = %v; want ErrNotFound", err)
	}
	if _, err := s.UserByID(ctx, u.ID+1000); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v; want ErrNotFound", err)
	}
	if err := a.UpdateProfile(ctx, u.ID, new("Ana B"), new("+61412345678")); err != nil {
		t.Fatal(err)
	}
	if err := a.ChangePasswordHash(ctx, u.ID, reload(t, s, u.ID).SecurityVersion, "$argon2id$y"); err != nil {
		t.Fatal(err)
	}
	got = reload(t, s, u.ID)
	if got.Name != "Ana B" || got.MobilePhone != "+61412345678" || got.PasswordHash != "$argon2id$y" {
		t.Errorf("after updates: %+v", got)
	}
	if ok, err := a.RehashPassword(ctx, u.ID, "$argon2id$y", "$argon2id$y2"); !ok || err != nil {
		t.Errorf("RehashPassword(current hash) = %v, %v; want true", ok, err)
	}
	if got := reload(t, s, u.ID); got.PasswordHash != "$argon2id$y2" {
		t.Errorf("after RehashPassword: hash %q; want $argon2id$y2", got.PasswordHash)
	}
	for _, p := range []string{"", "+61412345678"} {
		if err := a.UpdateProfile(ctx, u.ID+1000, new("x"), new(p)); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("UpdateProfile(unknown user, phone %q) = %v; want ErrNotFound", p, err)
		}
	}
	newUser(t, s, "bo@example.com")
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Email != "ana@example.com" {
		t.Errorf("ListUsers = %d users, %v", len(users), err)
	}
}

func testTOTPLifecycle(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	first := account.SealedSecret{KeyID: "k1", Ciphertext: []byte("first")}
	second := account.SealedSecret{KeyID: "k1", Ciphertext: []byte("second")}
	if err := a.SetPendingTOTP(ctx, u.ID, first); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPendingTOTP(ctx, u.ID, second); err != nil {
		t.Fatal(err)
	}
	// Enabling with a secret that is no longer the pending one is a conflict.
	if err := a.EnableTOTP(ctx, u.ID, first, 10, t0); !errors.Is(err, account.ErrConflict) {
		t.Errorf("EnableTOTP(stale pending secret) = %v; want ErrConflict", err)
	}
	if ok, _ := a.AdvanceTOTPStep(ctx, u.ID, 5); ok {
		t.Error("AdvanceTOTPStep succeeded while 2FA is off")
	}
	if err := a.EnableTOTP(ctx, u.ID, second, 10, t0); err != nil {
		t.Fatalf("EnableTOTP = %v", err)
	}
	got := reload(t, s, u.ID)
	if !got.TwoFactorEnabled() || string(got.TOTP.Secret.Ciphertext) != "second" || got.TOTP.LastStep != 10 ||
		!got.TOTP.EnabledAt.Equal(t0) || got.PendingTOTP != nil {
		t.Errorf("after EnableTOTP: %+v pending %+v", got.TOTP, got.PendingTOTP)
	}
	if err := a.EnableTOTP(ctx, u.ID, second, 11, t0); !errors.Is(err, account.ErrConflict) {
		t.Errorf("EnableTOTP twice = %v; want ErrConflict", err)
	}
	if err := a.SetPendingTOTP(ctx, u.ID, first); !errors.Is(err, account.ErrTwoFactorEnabled) {
		t.Errorf("SetPendingTOTP while enabled = %v; want ErrTwoFactorEnabled", err)
	}
	for _, tt := range []struct {
		step int64
		want bool
	}{{10, false}, {9, false}, {11, true}, {11, false}, {13, true}, {12, false}} {
		if ok, err := a.AdvanceTOTPStep(ctx, u.ID, tt.step); ok != tt.want || err != nil {
			t.Errorf("AdvanceTOTPStep(%d) = %v, %v; want %v", tt.step, ok, err, tt.want)
		}
	}
	if err := a.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"h1"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := a.DisableTOTP(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got = reload(t, s, u.ID)
	if n := backupCodes(t, s, u.ID); got.TwoFactorEnabled() || got.PendingTOTP != nil || n != 0 {
		t.Errorf("after DisableTOTP: enabled %v, pending %v, %d backup codes", got.TwoFactorEnabled(), got.PendingTOTP, n)
	}
	if err := a.DisableTOTP(ctx, u.ID+1000); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("DisableTOTP(unknown user) = %v; want ErrNotFound", err)
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
	s, other := twoHandles(open, t)
	return s, func(i int) account.Store {
		if i%2 == 1 {
			return other
		}
		return s
	}
}

// twoHandles opens two handles on one database (the same one twice when
// the store has no second).
func twoHandles(open Opener, t *testing.T) (account.Store, account.Store) {
	s, second := open(t)
	if second == nil {
		return s, s
	}
	return s, second()
}

func testAdvanceTOTPStepConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := enabledUser(t, s, "ana@example.com")
	if n := concurrently(t, 40, func(i int) (bool, error) { return AutoCommit(pick(i)).AdvanceTOTPStep(ctx, u.ID, 101) }); n != 1 {
		t.Errorf("40 concurrent AdvanceTOTPStep(101): %d succeeded; want 1", n)
	}
}

func testBackupCodes(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := enabledUser(t, s, "ana@example.com")
	other := enabledUser(t, s, "bo@example.com")
	if err := a.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b", "c"}, t0); err != nil {
		t.Fatal(err)
	}
	if n := backupCodes(t, s, u.ID); n != 3 {
		t.Errorf("CountBackupCodes = %d; want 3", n)
	}
	if ok, _ := a.UseBackupCode(ctx, other.ID, "a", t0); ok {
		t.Error("another user's backup code was accepted")
	}
	if ok, err := a.UseBackupCode(ctx, u.ID, "a", t0); !ok || err != nil {
		t.Errorf("UseBackupCode(a) = %v, %v; want true", ok, err)
	}
	if ok, _ := a.UseBackupCode(ctx, u.ID, "a", t0); ok {
		t.Error("UseBackupCode(a) twice succeeded")
	}
	if ok, _ := a.UseBackupCode(ctx, u.ID, "zz", t0); ok {
		t.Error("UseBackupCode(unknown) succeeded")
	}
	if n := backupCodes(t, s, u.ID); n != 2 {
		t.Errorf("CountBackupCodes after one use = %d; want 2", n)
	}
	if err := a.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"d", "e"}, t0); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.UseBackupCode(ctx, u.ID, "b", t0); ok {
		t.Error("a replaced backup code was accepted")
	}
	if n := backupCodes(t, s, u.ID); n != 2 {
		t.Errorf("CountBackupCodes after replace = %d; want 2", n)
	}
}

func testBackupCodeConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := enabledUser(t, s, "ana@example.com")
	if err := AutoCommit(s).ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b"}, t0); err != nil {
		t.Fatal(err)
	}
	if n := concurrently(t, 40, func(i int) (bool, error) { return AutoCommit(pick(i)).UseBackupCode(ctx, u.ID, "a", t0) }); n != 1 {
		t.Errorf("40 concurrent UseBackupCode: %d succeeded; want 1", n)
	}
}

func session(userID int64, hash string, stage account.Stage) *account.Session {
	return &account.Session{TokenHash: hash, UserID: userID, Stage: stage, CreatedAt: t0, LastSeenAt: t0,
		AuthenticatedAt: t0, ExpiresAt: t0.Add(time.Hour), IP: "192.0.2.1", UserAgent: "ua", SecondFactor: account.SecondFactorTOTP}
}

// sameSession compares the stored columns of two sessions (not Profile).
func sameSession(a, b *account.Session) bool {
	x, y := *a, *b
	x.Profile, y.Profile = nil, nil
	return reflect.DeepEqual(x, y)
}

func testSessions(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	if err := a.CreateSession(ctx, session(u.ID, "h1", account.StageSecondFactor)); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByTokenHash(ctx, "h1")
	if err != nil || !sameSession(got, session(u.ID, "h1", account.StageSecondFactor)) {
		t.Fatalf("SessionByTokenHash = %+v, %v", got, err)
	}
	if _, err := s.SessionByTokenHash(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("SessionByTokenHash(unknown) = %v; want ErrNotFound", err)
	}
	if err := a.ReplaceSession(ctx, "h1", session(u.ID, "h2", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByTokenHash(ctx, "h1"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("replaced session still found: %v", err)
	}
	if err := a.ReplaceSession(ctx, "h1", session(u.ID, "h3", account.StageComplete)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("ReplaceSession of a gone session = %v; want ErrNotFound", err)
	}
	if _, err := s.SessionByTokenHash(ctx, "h3"); !errors.Is(err, account.ErrNotFound) {
		t.Error("a failed ReplaceSession left its new session behind")
	}
	later := t0.Add(10 * time.Minute)
	if err := s.TouchSession(ctx, "h2", later); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, "h2", later.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.SetSessionAuthenticatedAt(ctx, "h2", later); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SessionByTokenHash(ctx, "h2")
	if !got.LastSeenAt.Equal(later) || !got.AuthenticatedAt.Equal(later) {
		t.Errorf("after touch: last seen %v, authenticated %v; want %v (a touch never moves it back)", got.LastSeenAt, got.AuthenticatedAt, later)
	}
	if err := a.SetSessionAuthenticatedAt(ctx, "nope", later); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("SetSessionAuthenticatedAt(unknown) = %v; want ErrNotFound", err)
	}
	if err := a.HoldSession(ctx, "h2"); err != nil {
		t.Errorf("HoldSession(live) = %v", err)
	}
	if err := a.HoldSession(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("HoldSession(unknown) = %v; want ErrNotFound", err)
	}
	a.CreateSession(ctx, session(u.ID, "h4", account.StageComplete))
	a.CreateSession(ctx, session(u.ID, "h5", account.StageComplete))
	if err := a.DeleteUserSessions(ctx, u.ID, "h4"); err != nil {
		t.Fatal(err)
	}
	for hash, want := range map[string]bool{"h2": false, "h4": true, "h5": false} {
		_, err := s.SessionByTokenHash(ctx, hash)
		if (err == nil) != want {
			t.Errorf("after DeleteUserSessions(keep h4): %s found = %v; want %v", hash, err == nil, want)
		}
	}
	deleted, err := a.DeleteSession(ctx, "h4")
	if err != nil || !sameSession(deleted, session(u.ID, "h4", account.StageComplete)) {
		t.Fatalf("DeleteSession(h4) = %+v, %v; want the deleted session", deleted, err)
	}
	if _, err := s.SessionByTokenHash(ctx, "h4"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("deleted session still found: %v", err)
	}
	if _, err := a.DeleteSession(ctx, "h4"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("DeleteSession twice = %v; want ErrNotFound", err)
	}
}

// SessionByTokenHash returns the account with the session: the user as
// stored and, while 2FA is on, the count of their unused backup codes.
func testSessionProfile(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	other := enabledUser(t, s, "bo@example.com")
	if err := a.ReplaceBackupCodes(ctx, other.ID, "k1", []string{"x", "y", "z", "w"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateSession(ctx, session(u.ID, "h", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	check := func(when string, wantCodes int, wantGenerated, want2FA bool) {
		t.Helper()
		got, err := s.SessionByTokenHash(ctx, "h")
		if err != nil {
			t.Fatalf("%s: SessionByTokenHash = %v", when, err)
		}
		if !sameSession(got, session(u.ID, "h", account.StageComplete)) {
			t.Errorf("%s: session = %+v", when, got)
		}
		if got.Profile == nil || got.Profile.User == nil {
			t.Fatalf("%s: SessionByTokenHash returned no Profile", when)
		}
		if want := reload(t, s, u.ID); !reflect.DeepEqual(got.Profile.User, want) {
			t.Errorf("%s: Profile.User = %+v; want the stored user %+v", when, got.Profile.User, want)
		}
		if got.Profile.User.TwoFactorEnabled() != want2FA || got.Profile.BackupCodesRemaining != wantCodes || got.Profile.BackupCodesGenerated != wantGenerated {
			t.Errorf("%s: Profile has 2FA %v, %d backup codes (generated %v); want %v, %d (generated %v)",
				when, got.Profile.User.TwoFactorEnabled(), got.Profile.BackupCodesRemaining, got.Profile.BackupCodesGenerated, want2FA, wantCodes, wantGenerated)
		}
	}
	check("2FA off", 0, false, false)
	if err := a.SetPendingTOTP(ctx, u.ID, secret); err != nil {
		t.Fatal(err)
	}
	if err := a.EnableTOTP(ctx, u.ID, secret, 5, t0); err != nil {
		t.Fatal(err)
	}
	check("2FA on, no codes generated", 0, false, true)
	if err := a.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b", "c"}, t0); err != nil {
		t.Fatal(err)
	}
	check("three codes", 3, true, true)
	if ok, err := a.UseBackupCode(ctx, u.ID, "b", t0); !ok || err != nil {
		t.Fatalf("UseBackupCode = %v, %v", ok, err)
	}
	check("one code used", 2, true, true)
	for _, code := range []string{"a", "c"} {
		if ok, err := a.UseBackupCode(ctx, u.ID, code, t0); !ok || err != nil {
			t.Fatalf("UseBackupCode(%q) = %v, %v", code, ok, err)
		}
	}
	check("every code used", 0, true, true)
	if err := a.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"d", "e", "f", "g", "h"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateProfile(ctx, u.ID, new("Ana B"), new("+61412345678")); err != nil {
		t.Fatal(err)
	}
	check("five new codes, profile changed", 5, true, true)
	if err := a.DisableTOTP(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	check("2FA off again", 0, false, false)
	if err := a.SetPendingTOTP(ctx, u.ID, secret); err != nil {
		t.Fatal(err)
	}
	if err := a.EnableTOTP(ctx, u.ID, secret, 6, t0); err != nil {
		t.Fatal(err)
	}
	check("2FA on again: the old codes are gone", 0, false, true)
}

func testReplaceSessionConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := newUser(t, s, "ana@example.com")
	if err := AutoCommit(s).CreateSession(ctx, session(u.ID, "pending", account.StageSecondFactor)); err != nil {
		t.Fatal(err)
	}
	n := concurrently(t, 20, func(i int) (bool, error) {
		err := AutoCommit(pick(i)).ReplaceSession(ctx, "pending", session(u.ID, fmt.Sprintf("next-%d", i), account.StageComplete))
		if errors.Is(err, account.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	if n != 1 {
		t.Errorf("20 concurrent ReplaceSession of one pending session: %d succeeded; want 1", n)
	}
}

// reserved reports whether a ReserveAttempts call recorded every key.
func reserved(ids []int64, refused int, want int) bool {
	return refused < 0 && len(ids) == want
}

func testThrottleConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	window := 15 * time.Minute
	n := concurrently(t, 30, func(i int) (bool, error) {
		ids, refused, _, err := pick(i).ReserveAttempts(ctx, t0, limits(window, "code:user:1", 10))
		return reserved(ids, refused, 1), err
	})
	if n != 10 {
		t.Errorf("30 concurrent ReserveAttempts with limit 10: %d reserved; want 10", n)
	}
	ids, refused, oldest, err := s.ReserveAttempts(ctx, t0.Add(time.Minute), limits(window, "code:user:1", 10))
	if refused != 0 || len(ids) != 0 || err != nil || !oldest.Equal(t0) {
		t.Errorf("ReserveAttempts when full = ids %v, refused %d, oldest %v, %v; want refused 0 with oldest %v", ids, refused, oldest, err, t0)
	}
	// Another key is counted separately.
	if ids, refused, _, _ := s.ReserveAttempts(ctx, t0, limits(window, "code:user:2", 10)); !reserved(ids, refused, 1) {
		t.Error("ReserveAttempts for another key refused")
	}
	// Released attempts do not count; attempts older than the window do not count.
	ids, refused, _, _ = s.ReserveAttempts(ctx, t0, limits(window, "k", 1))
	if !reserved(ids, refused, 1) || ids[0] == 0 {
		t.Fatalf("first ReserveAttempts(k) = %v, refused %d", ids, refused)
	}
	if err := AutoCommit(s).ReleaseAttempt(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if ids, refused, _, _ := s.ReserveAttempts(ctx, t0, limits(window, "k", 1)); !reserved(ids, refused, 1) {
		t.Error("ReserveAttempts after release refused")
	}
	later := t0.Add(16 * time.Minute)
	if ids, refused, _, _ := s.ReserveAttempts(ctx, later, limits(window, "k", 1)); !reserved(ids, refused, 1) {
		t.Error("ReserveAttempts after the window passed refused")
	}
}

// wantAttempts checks that key has exactly n attempts in the window ending
// at now, through the Store (the check records one more).
func wantAttempts(t *testing.T, s account.Store, key string, now time.Time, window time.Duration, n int) {
	t.Helper()
	if n > 0 {
		if ids, refused, _, err := s.ReserveAttempts(ctx, now, limits(window, key, n)); refused != 0 || len(ids) != 0 || err != nil {
			t.Errorf("key %s: fewer than %d attempts recorded (ids %v, refused %d, %v)", key, n, ids, refused, err)
			return
		}
	}
	if ids, refused, _, err := s.ReserveAttempts(ctx, now, limits(window, key, n+1)); !reserved(ids, refused, 1) || err != nil {
		t.Errorf("key %s: more than %d attempts recorded (refused %d, %v)", key, n, refused, err)
	}
}

// ReserveAttempts records every key or none: one key at its limit leaves
// nothing recorded for the others, and says which key and when its oldest
// attempt in the window was.
func testReserveAttemptsAllOrNone(t *testing.T, open Opener) {
	s, _ := open(t)
	const window = 15 * time.Minute
	// "full" has attempts 20, 10 and 5 minutes ago: two in the window.
	past := []time.Duration{20 * time.Minute, 10 * time.Minute, 5 * time.Minute}
	tests := []struct {
		name        string
		limits      []account.AttemptLimit // "full" and "full2" are prepared; the other keys are fresh
		wantRefused int
		wantOldest  time.Time
	}{
		{"all have room", limits(window, "a", 5, "b", 5), -1, time.Time{}},
		{"one key, full", limits(window, "full", 2), 0, t0.Add(-10 * time.Minute)},
		{"middle key full", limits(window, "a", 5, "full", 2, "b", 5), 1, t0.Add(-10 * time.Minute)},
		{"last key full", limits(window, "a", 5, "b", 5, "full", 1), 2, t0.Add(-10 * time.Minute)},
		{"first of two full keys", limits(window, "a", 5, "full2", 1, "full", 2), 1, t0.Add(-10 * time.Minute)},
		{"the attempt outside the window does not count", limits(window, "a", 5, "full", 3), -1, time.Time{}},
		{"a longer window counts it", []account.AttemptLimit{{Key: "a", Limit: 5, Window: window}, {Key: "full", Limit: 3, Window: 30 * time.Minute}},
			1, t0.Add(-20 * time.Minute)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := func(k string) string { return fmt.Sprintf("%d:%s", i, k) }
			for _, k := range []string{"full", "full2"} {
				for _, ago := range past {
					if ids, refused, _, err := s.ReserveAttempts(ctx, t0.Add(-ago), limits(window, key(k), 100)); !reserved(ids, refused, 1) || err != nil {
						t.Fatalf("setup: ReserveAttempts = %v, %d, %v", ids, refused, err)
					}
				}
			}
			ls := make([]account.AttemptLimit, len(tt.limits))
			for j, l := range tt.limits {
				ls[j] = l
				ls[j].Key = key(l.Key)
			}
			ids, refused, oldest, err := s.ReserveAttempts(ctx, t0, ls)
			if err != nil {
				t.Fatalf("ReserveAttempts = %v", err)
			}
			if refused != tt.wantRefused {
				t.Errorf("refused = %d; want %d", refused, tt.wantRefused)
			}
			if tt.wantRefused >= 0 {
				if len(ids) != 0 {
					t.Errorf("refused, yet ids %v were returned", ids)
				}
				if !oldest.Equal(tt.wantOldest) {
					t.Errorf("oldest = %v; want %v", oldest, tt.wantOldest)
				}
			} else {
				seen := map[int64]bool{}
				for _, id := range ids {
					seen[id] = true
				}
				if len(ids) != len(ls) || len(seen) != len(ls) || seen[0] {
					t.Errorf("ids = %v; want %d distinct ids", ids, len(ls))
				}
			}
			// What was recorded: one attempt per key when all had room,
			// none anywhere when one was refused.
			for _, l := range ls {
				n := 0
				switch l.Key {
				case key("full"), key("full2"):
					n = 2
				}
				if tt.wantRefused < 0 {
					n++
				}
				wantAttempts(t, s, l.Key, t0, window, n)
			}
			// Released ids free their slots.
			if tt.wantRefused < 0 {
				for _, id := range ids {
					if err := AutoCommit(s).ReleaseAttempt(ctx, id); err != nil {
						t.Fatal(err)
					}
				}
				for _, l := range ls {
					n := 1 // the one wantAttempts recorded
					switch l.Key {
					case key("full"), key("full2"):
						n = 3
					}
					wantAttempts(t, s, l.Key, t0, window, n)
				}
			}
		})
	}
}

// Concurrent reservations, from two handles, never overrun a limit, also
// when each call takes two keys (in either order).
func testReserveAttemptsConcurrent(t *testing.T, open Opener) {
	const window = 15 * time.Minute
	tests := []struct {
		name    string
		limits  func(i int) []account.AttemptLimit
		want    int            // calls that reserve
		after   map[string]int // attempts recorded per key
		atLimit string         // the key a refused call names, if any
	}{
		{"one key", func(int) []account.AttemptLimit { return limits(window, "k1", 10) }, 10, map[string]int{"k1": 10}, "k1"},
		{"two keys, same limit", func(int) []account.AttemptLimit { return limits(window, "k1", 10, "k2", 10) }, 10,
			map[string]int{"k1": 10, "k2": 10}, ""},
		{"two keys in either order, one tighter", func(i int) []account.AttemptLimit {
			if i%3 == 0 {
				return limits(window, "k2", 6, "k1", 10)
			}
			return limits(window, "k1", 10, "k2", 6)
		}, 6, map[string]int{"k1": 6, "k2": 6}, "k2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, pick := handles(open, t)
			n := concurrently(t, 40, func(i int) (bool, error) {
				ls := tt.limits(i)
				ids, refused, oldest, err := pick(i).ReserveAttempts(ctx, t0, ls)
				if err != nil {
					return false, err
				}
				if refused >= 0 {
					if len(ids) != 0 {
						return false, fmt.Errorf("refused %d, yet ids %v", refused, ids)
					}
					if tt.atLimit != "" && ls[refused].Key != tt.atLimit {
						return false, fmt.Errorf("refused names key %s; only %s can be at its limit", ls[refused].Key, tt.atLimit)
					}
					if !oldest.Equal(t0) {
						return false, fmt.Errorf("refused with oldest %v; want %v", oldest, t0)
					}
					return false, nil
				}
				if len(ids) != len(ls) {
					return false, fmt.Errorf("reserved %d ids for %d keys", len(ids), len(ls))
				}
				return true, nil
			})
			if n != tt.want {
				t.Errorf("40 concurrent ReserveAttempts: %d reserved; want %d", n, tt.want)
			}
			for key, want := range tt.after {
				wantAttempts(t, s, key, t0, window, want)
			}
		})
	}
}

func testEvents(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	for i, kind := range []account.EventKind{account.EventSignUp, account.EventSignIn, account.EventTwoFactorEnabled} {
		e := &account.Event{UserID: u.ID, Kind: kind, IP: "192.0.2.1", UserAgent: "ua", Detail: "d", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
		if err := AutoCommit(s).AddEvent(ctx, e); err != nil || e.ID == 0 {
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
	if e := events[0]; e.UserID != u.ID || e.IP != "192.0.2.1" || e.UserAgent != "ua" || e.Detail != "d" {
		t.Errorf("Events[0] = %+v", e)
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
		if err := AutoCommit(s).CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	s.ReserveAttempts(ctx, t0.Add(-time.Hour), limits(time.Hour, "old", 1))
	s.ReserveAttempts(ctx, t0, limits(time.Hour, "new", 1))
	if err := s.DeleteExpired(ctx, t0, t0.Add(-30*time.Minute), t0.Add(-time.Hour), t0.Add(-15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for hash, want := range map[string]bool{"expired": false, "idle": false, "live": true} {
		if _, err := s.SessionByTokenHash(ctx, hash); (err == nil) != want {
			t.Errorf("after DeleteExpired: session %s found = %v; want %v", hash, err == nil, want)
		}
	}
	// The old attempt is gone (room again), the new one still counts.
	if ids, refused, _, _ := s.ReserveAttempts(ctx, t0, limits(2*time.Hour, "old", 1)); !reserved(ids, refused, 1) {
		t.Error("old throttle attempt survived DeleteExpired")
	}
	if ids, refused, _, _ := s.ReserveAttempts(ctx, t0, limits(time.Hour, "new", 1)); reserved(ids, refused, 1) {
		t.Error("recent throttle attempt was deleted by DeleteExpired")
	}
}

func testSuspension(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	a := AutoCommit(s)
	u := enabledUser(t, s, "ana@example.com")
	var mu sync.Mutex
	suspendedCalls := 0
	concurrently(t, 40, func(i int) (bool, error) {
		_, suspended, err := AutoCommit(pick(i)).RecordSecondFactorFailure(ctx, u.ID, 30, t0)
		if suspended {
			mu.Lock()
			suspendedCalls++
			mu.Unlock()
		}
		return false, err
	})
	got := reload(t, s, u.ID)
	if got.TOTP.Failures != 40 || !got.TOTP.Suspended() || !got.TOTP.SuspendedAt.Equal(t0) {
		t.Errorf("after 40 concurrent failures: failures %d, suspended at %v; want 40 and %v", got.TOTP.Failures, got.TOTP.SuspendedAt, t0)
	}
	if suspendedCalls != 1 {
		t.Errorf("%d calls reported the suspension; want exactly 1", suspendedCalls)
	}
	if err := a.ClearSecondFactorFailures(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, u.ID); got.TOTP.Failures != 0 || !got.TOTP.Suspended() {
		t.Errorf("clear without unsuspend: failures %d, suspended %v; want 0, true", got.TOTP.Failures, got.TOTP.Suspended())
	}
	if err := a.ClearSecondFactorFailures(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, u.ID); got.TOTP.Suspended() {
		t.Error("clear with unsuspend left the authenticator suspended")
	}
	a.RecordSecondFactorFailure(ctx, u.ID, 1, t0)
	if err := a.DisableTOTP(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	again := account.SealedSecret{KeyID: "k1", Ciphertext: []byte{9}}
	a.SetPendingTOTP(ctx, u.ID, again)
	a.EnableTOTP(ctx, u.ID, again, 1, t0)
	if got := reload(t, s, u.ID); !got.TwoFactorEnabled() || got.TOTP.Failures != 0 || got.TOTP.Suspended() {
		t.Errorf("after disable and enable: %+v; want a clean slate", got.TOTP)
	}
	if err := a.AddNotification(ctx, &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventTwoFactorEnabled, Subject: "s", Body: "b", CreatedAt: t0}); err != nil {
		t.Errorf("AddNotification = %v", err)
	}
}

// More expired rows than one cleanup batch holds are all deleted in one call.
func testDeleteExpiredBacklog(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	const n = 2100
	err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		for i := range n {
			sess := session(u.ID, fmt.Sprintf("expired-%d", i), account.StageComplete)
			sess.ExpiresAt = t0.Add(-time.Second)
			if err := tx.CreateSession(ctx, sess); err != nil {
				return err
			}
		}
		return tx.CreateSession(ctx, session(u.ID, "live", account.StageComplete))
	})
	if err != nil {
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

// pendingSignUp stores a pending sign-up and the message carrying its link
// in one transaction, as the service does.
func pendingSignUp(t *testing.T, s account.Store, email, tokenHash string, expires time.Time) *account.PendingSignUp {
	t.Helper()
	p := &account.PendingSignUp{TokenHash: tokenHash, Email: email, Name: "Bo", MobilePhone: "+61412345678",
		PasswordHash: "$argon2id$p", CreatedAt: t0, ExpiresAt: expires}
	n := &account.Notification{Recipient: email, Kind: account.NotificationSignUpLink, Subject: "s", Body: "link " + tokenHash, CreatedAt: t0, LinkTokenHash: tokenHash}
	err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		if err := tx.CreatePendingSignUp(ctx, p); err != nil {
			return err
		}
		return tx.AddNotification(ctx, n)
	})
	if err != nil {
		t.Fatalf("CreatePendingSignUp(%s) = %v", email, err)
	}
	if p.ID == 0 || n.ID == 0 {
		t.Fatalf("CreatePendingSignUp and AddNotification set ids %d and %d; want both", p.ID, n.ID)
	}
	return p
}

// completeSignUp completes the sign-up and creates the new user's session
// in one transaction, as the service does.
func completeSignUp(s account.Store, id int64, now time.Time, u *account.User, sess *account.Session) error {
	return s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		if err := tx.CompleteSignUp(ctx, id, now, u); err != nil {
			return err
		}
		sess.UserID = u.ID
		return tx.CreateSession(ctx, sess)
	})
}

// Finishing a sign-up marks the message that carried its link as used, in
// the same transaction, and no other message: not the email's other links
// (voided, but never used), not another email's, not a notice.
func testSignUpLinkUsed(t *testing.T, open Opener) {
	s, _ := open(t)
	notice := &account.Notification{Recipient: "cy@example.com", Kind: account.EventSignUpAttempt, Subject: "s", Body: "notice", CreatedAt: t0}
	// As queued by a twofold that did not record the link.
	unrecorded := &account.Notification{Recipient: "bo@example.com", Kind: account.NotificationSignUpLink, Subject: "s", Body: "link old", CreatedAt: t0}
	for _, n := range []*account.Notification{notice, unrecorded} {
		if err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tx.AddNotification(ctx, n) }); err != nil {
			t.Fatal(err)
		}
	}
	used := pendingSignUp(t, s, "bo@example.com", "t1", t0.Add(time.Hour))
	pendingSignUp(t, s, "bo@example.com", "t2", t0.Add(time.Hour))
	taken := pendingSignUp(t, s, "cy@example.com", "t3", t0.Add(time.Hour))
	newUser(t, s, "cy@example.com")

	// Refused (the email has an account): rolled back, nothing marked.
	err := completeSignUp(s, taken.ID, t0, &account.User{Email: "cy@example.com", Name: "Cy", PasswordHash: "x", CreatedAt: t0}, session(0, "s3", account.StageComplete))
	if !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("CompleteSignUp for a taken email = %v; want ErrEmailTaken", err)
	}
	at := t0.Add(5 * time.Minute)
	u := &account.User{Email: used.Email, Name: used.Name, PasswordHash: used.PasswordHash, CreatedAt: at}
	if err := completeSignUp(s, used.ID, at, u, session(0, "s1", account.StageComplete)); err != nil {
		t.Fatalf("CompleteSignUp = %v", err)
	}
	marked := map[string]time.Time{}
	for _, m := range outbox(t, s) {
		if !m.LinkUsedAt.IsZero() {
			marked[m.Body] = m.LinkUsedAt
		}
	}
	if want := map[string]time.Time{"link t1": at}; !reflect.DeepEqual(marked, want) {
		t.Errorf("messages marked used (by body) = %v; want only the used link's, at %v", marked, at)
	}
	r, ok := s.(interface {
		Notification(ctx context.Context, id int64) (*account.Notification, error)
	})
	if !ok {
		t.Fatal("the store cannot show one message")
	}
	for _, m := range outbox(t, s) {
		one, err := r.Notification(ctx, m.ID)
		if err != nil || !one.LinkUsedAt.Equal(m.LinkUsedAt) {
			t.Errorf("Notification(%d) = %+v, %v; want link used at %v as in the list", m.ID, one, err, m.LinkUsedAt)
		}
	}
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
	if err := completeSignUp(s, first.ID, t0, u, session(0, "s1", account.StageComplete)); err != nil {
		t.Fatalf("CompleteSignUp = %v", err)
	}
	if u.ID == 0 {
		t.Error("CompleteSignUp left the user id 0")
	}
	if got, err := s.UserByEmail(ctx, "bo@example.com"); err != nil || got.ID != u.ID || got.MobilePhone != "+61412345678" || got.SecurityVersion != 0 {
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
	if err := completeSignUp(s, second.ID, t0, &account.User{Email: "bo@example.com", Name: "Bo", PasswordHash: "x", CreatedAt: t0}, session(0, "s2", account.StageComplete)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("CompleteSignUp of a voided sign-up = %v; want ErrNotFound", err)
	}

	// The email got an account meanwhile: nothing is written at all.
	newUser(t, s, "cy@example.com")
	err = completeSignUp(s, other.ID, t0, &account.User{Email: "cy@example.com", Name: "Cy", PasswordHash: "x", CreatedAt: t0}, session(0, "s3", account.StageComplete))
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
	if err := completeSignUp(s, expired.ID, t0, &account.User{Email: "dee@example.com", Name: "Dee", PasswordHash: "x", CreatedAt: t0}, session(0, "s4", account.StageComplete)); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("CompleteSignUp of an expired sign-up = %v; want ErrNotFound", err)
	}
	if _, err := s.UserByEmail(ctx, "dee@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("user of an expired sign-up: %v; want ErrNotFound", err)
	}
	// Wrong passwords spend a link at the limit, not before.
	spend := pendingSignUp(t, s, "fay@example.com", "spend", t0.Add(time.Hour))
	for i := 1; i <= 3; i++ {
		spent, err := AutoCommit(s).RecordSignUpFailure(ctx, spend.ID, 3)
		if err != nil || spent != (i == 3) {
			t.Errorf("RecordSignUpFailure %d of 3 = %v, %v; want spent only at 3", i, spent, err)
		}
	}
	if _, err := s.PendingSignUpByTokenHash(ctx, "spend"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("a spent pending sign-up: %v; want ErrNotFound", err)
	}
	if spent, err := AutoCommit(s).RecordSignUpFailure(ctx, spend.ID, 3); spent || err != nil {
		t.Errorf("RecordSignUpFailure of a spent sign-up = %v, %v; want false, nil", spent, err)
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

// An event and its notification commit together or not at all.
func testEventAndNotification(t *testing.T, open Opener) {
	s, _ := open(t)
	u := newUser(t, s, "ana@example.com")
	e := &account.Event{UserID: u.ID, Kind: account.EventSignUpAttempt, IP: "192.0.2.1", UserAgent: "ua", CreatedAt: t0}
	n := &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventSignUpAttempt, Subject: "s", Body: "b", CreatedAt: t0}
	err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		if err := tx.AddEvent(ctx, e); err != nil {
			return err
		}
		return tx.AddNotification(ctx, n)
	})
	if err != nil || e.ID == 0 || n.ID == 0 {
		t.Fatalf("AddEvent + AddNotification = %v (ids %d, %d)", err, e.ID, n.ID)
	}
	evs := events(t, s, u.ID)
	if len(evs) != 1 || evs[0].Kind != account.EventSignUpAttempt {
		t.Errorf("Events = %v; want the one sign-up attempt", evs)
	}
	// An event for a user that does not exist fails, and its notification
	// (written first, in the same transaction) is not queued.
	lost := &account.Notification{UserID: u.ID, Recipient: u.Email, Kind: account.EventSignUpAttempt, Subject: "s", Body: "lost", CreatedAt: t0}
	err = s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		if err := tx.AddNotification(ctx, lost); err != nil {
			return err
		}
		return tx.AddEvent(ctx, &account.Event{UserID: u.ID + 1000, Kind: account.EventSignUpAttempt, CreatedAt: t0})
	})
	if err == nil {
		t.Error("AddNotification + AddEvent for an unknown user = nil; want an error")
	}
	msgs := outbox(t, s)
	if len(msgs) != 1 || msgs[0].ID != n.ID || msgs[0].UserID != u.ID || msgs[0].Body != "b" {
		t.Errorf("outbox = %+v; want only message %d of user %d", msgs, n.ID, u.ID)
	}

	// Messages carrying sign-up links go once the links have expired.
	pendingSignUp(t, s, "old@example.com", "t-old", t0.Add(time.Hour))
	if err := s.DeleteExpired(ctx, t0, t0.Add(-30*time.Minute), t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	msgs = outbox(t, s)
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
		err := completeSignUp(pick(i), p.ID, t0, u, session(0, fmt.Sprintf("s%d", i), account.StageComplete))
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
	sessions := 0
	for i := range 40 {
		if _, err := s.SessionByTokenHash(ctx, fmt.Sprintf("s%d", i)); err == nil {
			sessions++
		}
	}
	if sessions != 1 {
		t.Errorf("sessions after the race = %d; want the winner's only", sessions)
	}
}

var errFn = errors.New("storetest: fn failed")

// errStep marks a write of a test transaction that failed unexpectedly.
var errStep = errors.New("storetest: a write of the transaction failed")

// snapshot is what a test transaction could have changed.
type snapshot struct {
	user         *account.User
	events, msgs int
	codes        int
}

func take(t *testing.T, s account.Store, userID int64) snapshot {
	t.Helper()
	return snapshot{user: reload(t, s, userID), events: len(events(t, s, userID)), msgs: len(outbox(t, s)), codes: backupCodes(t, s, userID)}
}

// InTx commits every write of fn or, when fn returns an error, none, and
// returns that error.
func testInTxAllOrNothing(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	existing := enabledUser(t, s, "ana@example.com")
	if err := a.ReplaceBackupCodes(ctx, existing.ID, "k1", []string{"old1", "old2"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateSession(ctx, session(existing.ID, "keep", account.StageComplete)); err != nil {
		t.Fatal(err)
	}
	existing = reload(t, s, existing.ID)
	tests := []struct {
		name string
		last func(ctx context.Context, tx account.Tx) error // after every write; its error is fn's
		want error
	}{
		{"fn returns its own error", func(context.Context, account.Tx) error { return errFn }, errFn},
		{"fn returns it wrapped", func(context.Context, account.Tx) error { return fmt.Errorf("use case: %w", errFn) }, errFn},
		{"the last write fails: email taken", func(ctx context.Context, tx account.Tx) error {
			return tx.CreateUser(ctx, &account.User{Email: "ana@example.com", Name: "x", PasswordHash: "h", CreatedAt: t0})
		}, account.ErrEmailTaken},
		{"a re-check fails: stale version", func(ctx context.Context, tx account.Tx) error {
			return tx.RequireSecurityVersion(ctx, existing.ID, existing.SecurityVersion) // bumped by the writes before
		}, account.ErrStale},
		{"a conditional write refuses", func(ctx context.Context, tx account.Tx) error {
			return tx.SetPendingTOTP(ctx, existing.ID, secret) // 2FA is on
		}, account.ErrTwoFactorEnabled},
	}
	run := func(i int, last func(ctx context.Context, tx account.Tx) error) error {
		v := existing.SecurityVersion
		nu := &account.User{Email: fmt.Sprintf("new%d@example.com", i), Name: "New", MobilePhone: phone, PasswordHash: "h", CreatedAt: t0}
		steps := []struct {
			what string
			do   func(ctx context.Context, tx account.Tx) error
		}{
			{"CreateUser", func(ctx context.Context, tx account.Tx) error { return tx.CreateUser(ctx, nu) }},
			{"CreateSession", func(ctx context.Context, tx account.Tx) error {
				return tx.CreateSession(ctx, session(nu.ID, fmt.Sprintf("new-%d", i), account.StageComplete))
			}},
			{"AddEvent", func(ctx context.Context, tx account.Tx) error {
				return tx.AddEvent(ctx, &account.Event{UserID: existing.ID, Kind: account.EventPasswordChanged, Detail: fmt.Sprintf("tx %d", i), CreatedAt: t0})
			}},
			{"AddNotification", func(ctx context.Context, tx account.Tx) error {
				return tx.AddNotification(ctx, &account.Notification{UserID: existing.ID, Recipient: existing.Email, Kind: account.EventPasswordChanged, Subject: "s", Body: "b", CreatedAt: t0})
			}},
			{"CreatePendingSignUp", func(ctx context.Context, tx account.Tx) error {
				return tx.CreatePendingSignUp(ctx, &account.PendingSignUp{TokenHash: fmt.Sprintf("p-%d", i), Email: fmt.Sprintf("p%d@example.com", i),
					Name: "P", PasswordHash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
			}},
			{"UpdateProfile", func(ctx context.Context, tx account.Tx) error {
				return tx.UpdateProfile(ctx, existing.ID, new(fmt.Sprintf("Name %d", i)), new(fmt.Sprintf("+614999999%02d", i)))
			}},
			{"ChangePasswordHash", func(ctx context.Context, tx account.Tx) error {
				return tx.ChangePasswordHash(ctx, existing.ID, v+1, fmt.Sprintf("$argon2id$changed%d", i))
			}},
			{"AdvanceTOTPStep", func(ctx context.Context, tx account.Tx) error {
				ok, err := tx.AdvanceTOTPStep(ctx, existing.ID, 1000+int64(i))
				return okOr("AdvanceTOTPStep", ok, err)
			}},
			{"RecordSecondFactorFailure", func(ctx context.Context, tx account.Tx) error {
				_, _, err := tx.RecordSecondFactorFailure(ctx, existing.ID, 1, t0)
				return err
			}},
			{"UseBackupCode", func(ctx context.Context, tx account.Tx) error {
				ok, err := tx.UseBackupCode(ctx, existing.ID, "old1", t0)
				return okOr("UseBackupCode", ok, err)
			}},
			{"ReplaceBackupCodes", func(ctx context.Context, tx account.Tx) error {
				return tx.ReplaceBackupCodes(ctx, existing.ID, "k1", []string{"n1", "n2", "n3", "n4", "n5"}, t0)
			}},
			{"DeleteSession", func(ctx context.Context, tx account.Tx) error {
				_, err := tx.DeleteSession(ctx, "keep")
				return err
			}},
		}
		return s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
			for _, st := range steps {
				if err := st.do(ctx, tx); err != nil {
					return fmt.Errorf("%w: %s: %w", errStep, st.what, err)
				}
			}
			return last(ctx, tx)
		})
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := take(t, s, existing.ID)
			err := run(i, tt.last)
			if errors.Is(err, errStep) {
				t.Fatal(err)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("InTx = %v; want fn's error %v", err, tt.want)
			}
			if after := take(t, s, existing.ID); !reflect.DeepEqual(after, before) {
				t.Errorf("after the failed InTx: user %+v (TOTP %+v), %d events, %d messages, %d codes;\nwant unchanged %+v (TOTP %+v), %d, %d, %d",
					after.user, after.user.TOTP, after.events, after.msgs, after.codes,
					before.user, before.user.TOTP, before.events, before.msgs, before.codes)
			}
			if _, err := s.UserByEmail(ctx, fmt.Sprintf("new%d@example.com", i)); !errors.Is(err, account.ErrNotFound) {
				t.Errorf("the user it created: %v; want ErrNotFound", err)
			}
			if _, err := s.SessionByTokenHash(ctx, fmt.Sprintf("new-%d", i)); !errors.Is(err, account.ErrNotFound) {
				t.Errorf("the session it created: %v; want ErrNotFound", err)
			}
			if _, err := s.PendingSignUpByTokenHash(ctx, fmt.Sprintf("p-%d", i)); !errors.Is(err, account.ErrNotFound) {
				t.Errorf("the pending sign-up it created: %v; want ErrNotFound", err)
			}
			if _, err := s.SessionByTokenHash(ctx, "keep"); err != nil {
				t.Errorf("the session it deleted: %v; want kept", err)
			}
		})
	}
	// The same writes with fn returning nil are all there: the checks above
	// would have seen them.
	t.Run("fn returns nil", func(t *testing.T) {
		before := take(t, s, existing.ID)
		i := len(tests)
		if err := run(i, func(context.Context, account.Tx) error { return nil }); err != nil {
			t.Fatalf("InTx = %v", err)
		}
		after := take(t, s, existing.ID)
		u := after.user
		if u.Name != fmt.Sprintf("Name %d", i) || u.PasswordHash != fmt.Sprintf("$argon2id$changed%d", i) || u.TOTP.LastStep != 1000+int64(i) ||
			u.TOTP.Failures != 1 || u.SecurityVersion != before.user.SecurityVersion+3 {
			t.Errorf("user after the committed InTx = %+v (TOTP %+v)", u, u.TOTP)
		}
		if after.events != before.events+1 || after.msgs != before.msgs+1 || after.codes != 5 {
			t.Errorf("after the committed InTx: %d events, %d messages, %d codes; want %d, %d, 5",
				after.events, after.msgs, after.codes, before.events+1, before.msgs+1)
		}
		if _, err := s.UserByEmail(ctx, fmt.Sprintf("new%d@example.com", i)); err != nil {
			t.Errorf("the user it created: %v", err)
		}
		if _, err := s.SessionByTokenHash(ctx, fmt.Sprintf("new-%d", i)); err != nil {
			t.Errorf("the session it created: %v", err)
		}
		if _, err := s.PendingSignUpByTokenHash(ctx, fmt.Sprintf("p-%d", i)); err != nil {
			t.Errorf("the pending sign-up it created: %v", err)
		}
		if _, err := s.SessionByTokenHash(ctx, "keep"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("the session it deleted: %v; want ErrNotFound", err)
		}
	})
}

// Transactions running at once (on SQLite, several share one COMMIT) keep
// apart: the failing ones leave nothing, the others everything.
func testInTxConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	const n = 40
	fails := func(i int) bool { return i%3 == 0 }
	concurrently(t, n, func(i int) (bool, error) {
		err := pick(i).InTx(ctx, func(ctx context.Context, tx account.Tx) error {
			u := &account.User{Email: fmt.Sprintf("u%d@example.com", i), Name: "U", PasswordHash: "h", CreatedAt: t0}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.CreateSession(ctx, session(u.ID, fmt.Sprintf("s%d", i), account.StageComplete)); err != nil {
				return err
			}
			if err := tx.AddEvent(ctx, &account.Event{UserID: u.ID, Kind: account.EventSignUp, CreatedAt: t0}); err != nil {
				return err
			}
			if fails(i) {
				return fmt.Errorf("tx %d: %w", i, errFn)
			}
			return nil
		})
		if fails(i) {
			if !errors.Is(err, errFn) {
				return false, fmt.Errorf("InTx = %v; want fn's error", err)
			}
			return false, nil
		}
		return err == nil, err
	})
	users := 0
	for i := range n {
		u, err := s.UserByEmail(ctx, fmt.Sprintf("u%d@example.com", i))
		_, sessErr := s.SessionByTokenHash(ctx, fmt.Sprintf("s%d", i))
		if fails(i) {
			if !errors.Is(err, account.ErrNotFound) || !errors.Is(sessErr, account.ErrNotFound) {
				t.Errorf("tx %d failed, yet left user (%v) or session (%v)", i, err, sessErr)
			}
			continue
		}
		users++
		if err != nil || sessErr != nil {
			t.Errorf("tx %d committed, yet user: %v, session: %v", i, err, sessErr)
			continue
		}
		if evs := events(t, s, u.ID); len(evs) != 1 {
			t.Errorf("tx %d committed %d events; want 1", i, len(evs))
		}
	}
	if all, err := s.ListUsers(ctx); err != nil || len(all) != users {
		t.Errorf("ListUsers = %d, %v; want %d", len(all), err, users)
	}
}

// A write started on the Store (not the Tx) from inside InTx, with the ctx
// fn was given, fails at once: it neither waits for the transaction it is
// part of nor commits on its own. The transaction itself goes on.
func testStoreWriteInsideInTx(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	expired := session(u.ID, "expired", account.StageComplete)
	expired.ExpiresAt = t0.Add(-time.Second)
	for _, sess := range []*account.Session{session(u.ID, "live", account.StageComplete), expired} {
		if err := a.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	var nestedRan atomic.Bool
	tests := []struct {
		name  string
		write func(ctx context.Context) error
		check func(t *testing.T) // the write had no effect
	}{
		{"ReserveAttempts", func(ctx context.Context) error {
			_, _, _, err := s.ReserveAttempts(ctx, t0, limits(time.Hour, "inside", 1))
			return err
		}, func(t *testing.T) { wantAttempts(t, s, "inside", t0, time.Hour, 0) }},
		{"TouchSession", func(ctx context.Context) error { return s.TouchSession(ctx, "live", t0.Add(time.Hour)) },
			func(t *testing.T) {
				if got, err := s.SessionByTokenHash(ctx, "live"); err != nil || !got.LastSeenAt.Equal(t0) {
					t.Errorf("session touched from inside InTx: %+v, %v", got, err)
				}
			}},
		{"InTx", func(ctx context.Context) error {
			return s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				nestedRan.Store(true)
				return tx.AddEvent(ctx, &account.Event{UserID: u.ID, Kind: account.EventSignIn, Detail: "nested", CreatedAt: t0})
			})
		}, func(t *testing.T) {
			if nestedRan.Load() {
				t.Error("the nested InTx ran its fn")
			}
			for _, e := range events(t, s, u.ID) {
				if e.Detail == "nested" {
					t.Error("the nested InTx committed its event")
				}
			}
		}},
		{"DeleteExpired", func(ctx context.Context) error { return s.DeleteExpired(ctx, t0, t0, t0, t0) },
			func(t *testing.T) {
				if _, err := s.SessionByTokenHash(ctx, "expired"); err != nil {
					t.Errorf("DeleteExpired from inside InTx deleted: %v", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inner error
			var took time.Duration
			done := make(chan error, 1)
			go func() {
				done <- s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
					// The timeout only keeps a broken store from hanging the
					// suite: the write must fail long before it.
					wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					start := time.Now()
					inner = tt.write(wctx)
					took = time.Since(start)
					return tx.AddEvent(ctx, &account.Event{UserID: u.ID, Kind: account.EventSignIn, Detail: "outer " + tt.name, CreatedAt: t0})
				})
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				panic("storetest: InTx with a Store write inside has not returned after 30s: " + tt.name)
			}
			if inner == nil || errors.Is(inner, context.DeadlineExceeded) || took > 2*time.Second {
				t.Errorf("store.%s from inside InTx = %v after %v; want an error at once", tt.name, inner, took)
			}
			if err != nil {
				t.Errorf("InTx = %v; want the transaction itself committed", err)
			}
			found := false
			for _, e := range events(t, s, u.ID) {
				found = found || e.Detail == "outer "+tt.name
			}
			if !found {
				t.Error("the transaction's own write was not committed")
			}
			tt.check(t)
		})
	}
}

// SecurityVersion starts at 0 and is bumped by exactly the changes that
// must invalidate what a request in flight read.
func testSecurityVersion(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	type setup func(t *testing.T, email string) *account.User
	plain := func(t *testing.T, email string) *account.User { return newUser(t, s, email) }
	noPhone := func(t *testing.T, email string) *account.User {
		u := newUser(t, s, email)
		if err := a.UpdateProfile(ctx, u.ID, new(u.Name), new("")); err != nil {
			t.Fatal(err)
		}
		return reload(t, s, u.ID)
	}
	pending := func(t *testing.T, email string) *account.User {
		u := newUser(t, s, email)
		if err := a.SetPendingTOTP(ctx, u.ID, secret); err != nil {
			t.Fatal(err)
		}
		return reload(t, s, u.ID)
	}
	enabled := func(t *testing.T, email string) *account.User { return enabledUser(t, s, email) }
	withCodes := func(t *testing.T, email string) *account.User {
		u := enabledUser(t, s, email)
		if err := a.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"c1", "c2"}, t0); err != nil {
			t.Fatal(err)
		}
		return reload(t, s, u.ID)
	}
	tests := []struct {
		name  string
		setup setup
		op    func(ctx context.Context, tx account.Tx, u *account.User) error
		bump  int64
	}{
		{"ChangePasswordHash", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.ChangePasswordHash(ctx, u.ID, u.SecurityVersion, "$argon2id$new")
		}, 1},
		{"EnableTOTP", pending, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.EnableTOTP(ctx, u.ID, secret, 7, t0)
		}, 1},
		{"DisableTOTP", withCodes, func(ctx context.Context, tx account.Tx, u *account.User) error { return tx.DisableTOTP(ctx, u.ID) }, 1},
		{"ReplaceBackupCodes", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b"}, t0)
		}, 1},
		{"UpdateProfile, new phone", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID, new(u.Name), new("+61412345678"))
		}, 1},
		{"UpdateProfile, new phone and name, 2FA on", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID, new("Other"), new("+61412345678"))
		}, 1},
		{"UpdateProfile, phone removed", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID, new(u.Name), new(""))
		}, 1},
		{"UpdateProfile, phone added", noPhone, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID, new(u.Name), new(phone))
		}, 1},
		{"UpdateProfile, name only", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID, new("Other"), new(u.MobilePhone))
		}, 0},
		{"UpdateProfile, name only, 2FA on", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID, new("Other"), new(u.MobilePhone))
		}, 0},
		{"RehashPassword", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			ok, err := tx.RehashPassword(ctx, u.ID, u.PasswordHash, "$argon2id$rehashed")
			return okOr("RehashPassword", ok, err)
		}, 0},
		{"AdvanceTOTPStep", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			ok, err := tx.AdvanceTOTPStep(ctx, u.ID, u.TOTP.LastStep+1)
			return okOr("AdvanceTOTPStep", ok, err)
		}, 0},
		{"UseBackupCode", withCodes, func(ctx context.Context, tx account.Tx, u *account.User) error {
			ok, err := tx.UseBackupCode(ctx, u.ID, "c1", t0)
			return okOr("UseBackupCode", ok, err)
		}, 0},
		{"RecordSecondFactorFailure", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			_, _, err := tx.RecordSecondFactorFailure(ctx, u.ID, 30, t0)
			return err
		}, 0},
		{"RecordSecondFactorFailure, suspending", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			_, suspended, err := tx.RecordSecondFactorFailure(ctx, u.ID, 1, t0)
			return okOr("suspended", suspended, err)
		}, 0},
		{"ClearSecondFactorFailures", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.ClearSecondFactorFailures(ctx, u.ID, true)
		}, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.setup(t, fmt.Sprintf("v%d@example.com", i))
			before := u.SecurityVersion
			if err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error { return tt.op(ctx, tx, u) }); err != nil {
				t.Fatalf("%s = %v", tt.name, err)
			}
			if got := reload(t, s, u.ID).SecurityVersion; got != before+tt.bump {
				t.Errorf("security version after %s = %d; want %d (was %d)", tt.name, got, before+tt.bump, before)
			}
		})
	}
	t.Run("starts at 0", func(t *testing.T) {
		if v := reload(t, s, newUser(t, s, "zero@example.com").ID).SecurityVersion; v != 0 {
			t.Errorf("a new user's security version = %d; want 0", v)
		}
	})
	t.Run("two bumps in one transaction", func(t *testing.T) {
		u := enabledUser(t, s, "twice@example.com")
		err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
			if err := tx.ChangePasswordHash(ctx, u.ID, u.SecurityVersion, "$argon2id$new"); err != nil {
				return err
			}
			return tx.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a"}, t0)
		})
		if got := reload(t, s, u.ID).SecurityVersion; err != nil || got != u.SecurityVersion+2 {
			t.Errorf("after ChangePasswordHash and ReplaceBackupCodes: version %d, %v; want %d", got, err, u.SecurityVersion+2)
		}
	})
}

// RequireSecurityVersion passes only for the current version; a
// ChangePasswordHash decided on an older one writes nothing.
func testRequireSecurityVersion(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	u := newUser(t, s, "ana@example.com")
	for v := range int64(2) {
		if err := a.ChangePasswordHash(ctx, u.ID, v, fmt.Sprintf("$argon2id$%d", v+1)); err != nil {
			t.Fatal(err)
		}
	}
	if v := reload(t, s, u.ID).SecurityVersion; v != 2 {
		t.Fatalf("security version after two password changes = %d; want 2", v)
	}
	for _, tt := range []struct {
		name    string
		userID  int64
		version int64
		want    error
	}{
		{"current", u.ID, 2, nil},
		{"previous", u.ID, 1, account.ErrStale},
		{"initial", u.ID, 0, account.ErrStale},
		{"ahead", u.ID, 3, account.ErrStale},
		{"unknown user", u.ID + 1000, 0, account.ErrNotFound},
	} {
		err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
			return tx.RequireSecurityVersion(ctx, tt.userID, tt.version)
		})
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("RequireSecurityVersion(%s: user %d, version %d) = %v; want %v", tt.name, tt.userID, tt.version, err, tt.want)
		}
	}
	// A stale ChangePasswordHash writes nothing, even if its transaction
	// commits.
	before := reload(t, s, u.ID)
	var changeErr error
	if err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
		changeErr = tx.ChangePasswordHash(ctx, u.ID, 1, "$argon2id$stale")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(changeErr, account.ErrStale) {
		t.Errorf("ChangePasswordHash(stale version) = %v; want ErrStale", changeErr)
	}
	if after := reload(t, s, u.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("after a stale ChangePasswordHash: %+v; want unchanged %+v", after, before)
	}
}

// Transactions of one user that each re-check the security version and then
// write the user's row (code steps: a failure counted, a step advanced) all
// commit, from two handles at once: the re-check's hold on the row must not
// make them deadlock (as two share locks, each then wanting the row, would).
func testRequireThenWriteConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := enabledUser(t, s, "ana@example.com")
	const n = 20
	concurrently(t, n, func(i int) (bool, error) {
		return false, pick(i).InTx(ctx, func(ctx context.Context, tx account.Tx) error {
			if err := tx.RequireSecurityVersion(ctx, u.ID, u.SecurityVersion); err != nil {
				return err
			}
			jitter()
			if i%2 == 0 {
				_, _, err := tx.RecordSecondFactorFailure(ctx, u.ID, 1000, t0)
				return err
			}
			_, err := tx.AdvanceTOTPStep(ctx, u.ID, u.TOTP.LastStep+int64(i))
			return err
		})
	})
	got := reload(t, s, u.ID)
	if got.TOTP.Failures != n/2 || got.SecurityVersion != u.SecurityVersion {
		t.Errorf("after %d concurrent code steps: %d failures, version %d; want %d failures, version %d",
			n, got.TOTP.Failures, got.SecurityVersion, n/2, u.SecurityVersion)
	}
}

var errRefused = errors.New("storetest: conditional write returned false")

// Every conditional write refuses with its error, and writes nothing even
// when its transaction goes on to commit.
func testConditionalWrites(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	plain := func(t *testing.T, email string) *account.User { return newUser(t, s, email) }
	enabled := func(t *testing.T, email string) *account.User { return enabledUser(t, s, email) }
	tests := []struct {
		name  string
		setup func(t *testing.T, email string) *account.User
		op    func(ctx context.Context, tx account.Tx, u *account.User) error
		want  error
	}{
		{"UpdateProfile without a phone while 2FA is on", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID, new("New name"), new(""))
		}, account.ErrTwoFactorEnabled},
		{"UpdateProfile of an unknown user", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID+1000, new("New name"), new("+61412345678"))
		}, account.ErrNotFound},
		{"UpdateProfile of an unknown user, without a phone", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.UpdateProfile(ctx, u.ID+1000, new("New name"), new(""))
		}, account.ErrNotFound},
		{"EnableTOTP without a phone", func(t *testing.T, email string) *account.User {
			u := newUser(t, s, email)
			if err := a.UpdateProfile(ctx, u.ID, new(u.Name), new("")); err != nil {
				t.Fatal(err)
			}
			if err := a.SetPendingTOTP(ctx, u.ID, secret); err != nil {
				t.Fatal(err)
			}
			return u
		}, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.EnableTOTP(ctx, u.ID, secret, 7, t0)
		}, account.ErrConflict},
		{"EnableTOTP without a pending secret", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.EnableTOTP(ctx, u.ID, secret, 7, t0)
		}, account.ErrConflict},
		{"EnableTOTP while 2FA is on", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.EnableTOTP(ctx, u.ID, secret, 700, t0)
		}, account.ErrConflict},
		{"SetPendingTOTP while 2FA is on", enabled, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.SetPendingTOTP(ctx, u.ID, account.SealedSecret{KeyID: "k1", Ciphertext: []byte("new")})
		}, account.ErrTwoFactorEnabled},
		{"ReplaceBackupCodes while 2FA is off", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b"}, t0)
		}, account.ErrTwoFactorNotEnabled},
		{"ReplaceBackupCodes after 2FA was turned off", func(t *testing.T, email string) *account.User {
			u := enabledUser(t, s, email)
			if err := a.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"a", "b"}, t0); err != nil {
				t.Fatal(err)
			}
			if err := a.DisableTOTP(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			return u
		}, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.ReplaceBackupCodes(ctx, u.ID, "k1", []string{"c", "d"}, t0)
		}, account.ErrTwoFactorNotEnabled},
		{"RehashPassword over a hash that was replaced", func(t *testing.T, email string) *account.User {
			u := newUser(t, s, email)
			if err := a.ChangePasswordHash(ctx, u.ID, 0, "$argon2id$changed"); err != nil {
				t.Fatal(err)
			}
			return u // holds the hash before the change
		}, func(ctx context.Context, tx account.Tx, u *account.User) error {
			ok, err := tx.RehashPassword(ctx, u.ID, u.PasswordHash, "$argon2id$rehashed")
			if err == nil && !ok {
				return errRefused
			}
			return err
		}, errRefused},
		{"ChangePasswordHash with a stale version", func(t *testing.T, email string) *account.User {
			u := newUser(t, s, email)
			if err := a.UpdateProfile(ctx, u.ID, new(u.Name), new("+61412345678")); err != nil {
				t.Fatal(err)
			}
			return u // holds version 0; the phone change made it 1
		}, func(ctx context.Context, tx account.Tx, u *account.User) error {
			return tx.ChangePasswordHash(ctx, u.ID, u.SecurityVersion, "$argon2id$stale")
		}, account.ErrStale},
		{"AdvanceTOTPStep while 2FA is off", plain, func(ctx context.Context, tx account.Tx, u *account.User) error {
			ok, err := tx.AdvanceTOTPStep(ctx, u.ID, 5)
			if err == nil && !ok {
				return errRefused
			}
			return err
		}, errRefused},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.setup(t, fmt.Sprintf("c%d@example.com", i))
			before := take(t, s, u.ID)
			var opErr error
			err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				opErr = tt.op(ctx, tx, u)
				return nil // commit anyway: the refused write itself must have written nothing
			})
			if err != nil {
				t.Fatalf("InTx = %v", err)
			}
			if !errors.Is(opErr, tt.want) {
				t.Errorf("%s = %v; want %v", tt.name, opErr, tt.want)
			}
			if after := take(t, s, u.ID); !reflect.DeepEqual(after, before) {
				t.Errorf("after the refused %s: user %+v (TOTP %+v, pending %+v), %d codes;\nwant unchanged %+v (TOTP %+v, pending %+v), %d codes",
					tt.name, after.user, after.user.TOTP, after.user.PendingTOTP, after.codes,
					before.user, before.user.TOTP, before.user.PendingTOTP, before.codes)
			}
		})
	}
}

// raceRounds is how many times each race below is run. They are store-level
// (no password hashing), a few transactions a round.
const raceRounds = 40

// race runs a and b at once and returns their errors.
func race(a, b func() error) (errA, errB error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errA = a() }()
	go func() { defer wg.Done(); <-start; errB = b() }()
	close(start)
	wg.Wait()
	return errA, errB
}

// jitter sleeps up to half a millisecond, so the two sides of a race meet
// at different points from round to round, also while a transaction holds
// what it read.
func jitter() { time.Sleep(rand.N(500 * time.Microsecond)) }

// (a) A sign-in decided on security version v (RequireSecurityVersion, then
// CreateSession) racing a password change on v that ends the user's other
// sessions: the new session never survives the change. Either the sign-in
// fails as stale, or its session is ended by the change.
func testRaceSessionAgainstPasswordChange(t *testing.T, open Opener) {
	s1, s2 := twoHandles(open, t)
	u := newUser(t, s1, "ana@example.com")
	stale, ended := 0, 0
	for r := range raceRounds {
		v := reload(t, s1, u.ID).SecurityVersion
		hash := fmt.Sprintf("race-%d", r)
		signIn, change := s1, s2
		if r%2 == 1 {
			signIn, change = s2, s1
		}
		errSignIn, errChange := race(func() error {
			return signIn.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				if err := tx.RequireSecurityVersion(ctx, u.ID, v); err != nil {
					return err
				}
				jitter()
				return tx.CreateSession(ctx, session(u.ID, hash, account.StageComplete))
			})
		}, func() error {
			jitter()
			return change.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				if err := tx.ChangePasswordHash(ctx, u.ID, v, fmt.Sprintf("$argon2id$%d", r)); err != nil {
					return err
				}
				jitter()
				return tx.DeleteUserSessions(ctx, u.ID, "")
			})
		})
		if errChange != nil {
			t.Fatalf("round %d: the password change = %v", r, errChange)
		}
		switch {
		case errSignIn == nil:
			ended++
		case errors.Is(errSignIn, account.ErrStale):
			stale++
		default:
			t.Fatalf("round %d: the sign-in = %v; want nil or ErrStale", r, errSignIn)
		}
		if _, err := s1.SessionByTokenHash(ctx, hash); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("round %d: the session of a sign-in on version %d survived the password change (sign-in: %v, session: %v)", r, v, errSignIn, err)
		}
		if got := reload(t, s1, u.ID).SecurityVersion; got != v+1 {
			t.Fatalf("round %d: security version %d; want %d", r, got, v+1)
		}
	}
	t.Logf("%d rounds: sign-in stale %d, its session ended by the change %d", raceRounds, stale, ended)
}

// (b) New backup codes racing DisableTOTP: never 2FA off with codes left.
func testRaceBackupCodesAgainstDisable(t *testing.T, open Opener) {
	s1, s2 := twoHandles(open, t)
	a := AutoCommit(s1)
	u := newUser(t, s1, "ana@example.com")
	replaced := 0
	for r := range raceRounds {
		sec := account.SealedSecret{KeyID: "k1", Ciphertext: fmt.Appendf(nil, "secret %d", r)}
		if err := a.SetPendingTOTP(ctx, u.ID, sec); err != nil {
			t.Fatal(err)
		}
		if err := a.EnableTOTP(ctx, u.ID, sec, 1, t0); err != nil {
			t.Fatal(err)
		}
		replace, disable := s1, s2
		if r%2 == 1 {
			replace, disable = s2, s1
		}
		errReplace, errDisable := race(func() error {
			jitter()
			return replace.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				if err := tx.ReplaceBackupCodes(ctx, u.ID, "k1", []string{fmt.Sprintf("a%d", r), fmt.Sprintf("b%d", r)}, t0); err != nil {
					return err
				}
				jitter()
				return nil
			})
		}, func() error {
			jitter()
			return disable.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				if err := tx.DisableTOTP(ctx, u.ID); err != nil {
					return err
				}
				jitter()
				return nil
			})
		})
		if errDisable != nil {
			t.Fatalf("round %d: DisableTOTP = %v", r, errDisable)
		}
		switch {
		case errReplace == nil:
			replaced++
		case !errors.Is(errReplace, account.ErrTwoFactorNotEnabled):
			t.Fatalf("round %d: ReplaceBackupCodes = %v; want nil or ErrTwoFactorNotEnabled", r, errReplace)
		}
		got := reload(t, s1, u.ID)
		if n := backupCodes(t, s1, u.ID); got.TwoFactorEnabled() || n != 0 {
			t.Fatalf("round %d: 2FA on %v with %d backup codes (replace: %v); want 2FA off and no codes", r, got.TwoFactorEnabled(), n, errReplace)
		}
	}
	t.Logf("%d rounds: codes replaced before the disable %d, refused %d", raceRounds, replaced, raceRounds-replaced)
}

// (c) Removing the phone number racing EnableTOTP: exactly one wins, and
// 2FA is never on without a phone.
func testRacePhoneRemovalAgainstEnable(t *testing.T, open Opener) {
	s1, s2 := twoHandles(open, t)
	a := AutoCommit(s1)
	u := newUser(t, s1, "ana@example.com")
	enabled := 0
	for r := range raceRounds {
		sec := account.SealedSecret{KeyID: "k1", Ciphertext: fmt.Appendf(nil, "secret %d", r)}
		if err := a.SetPendingTOTP(ctx, u.ID, sec); err != nil {
			t.Fatal(err)
		}
		profile, enable := s1, s2
		if r%2 == 1 {
			profile, enable = s2, s1
		}
		errProfile, errEnable := race(func() error {
			jitter()
			return profile.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				if err := tx.UpdateProfile(ctx, u.ID, new("Ana"), new("")); err != nil {
					return err
				}
				jitter()
				return nil
			})
		}, func() error {
			jitter()
			return enable.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				if err := tx.EnableTOTP(ctx, u.ID, sec, 1, t0); err != nil {
					return err
				}
				jitter()
				return nil
			})
		})
		switch {
		case errProfile == nil && errors.Is(errEnable, account.ErrConflict):
		case errEnable == nil && errors.Is(errProfile, account.ErrTwoFactorEnabled):
			enabled++
		default:
			t.Fatalf("round %d: UpdateProfile(no phone) = %v, EnableTOTP = %v; want exactly one to succeed", r, errProfile, errEnable)
		}
		got := reload(t, s1, u.ID)
		if got.TwoFactorEnabled() && got.MobilePhone == "" {
			t.Fatalf("round %d: 2FA on without a phone number", r)
		}
		// Back to 2FA off with a phone.
		if got.TwoFactorEnabled() {
			if err := a.DisableTOTP(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.UpdateProfile(ctx, u.ID, new("Ana"), new(phone)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds: enabled first %d, phone removed first %d", raceRounds, enabled, raceRounds-enabled)
}

// (d) A change made on a session's authority (HoldSession, then a write)
// racing the deletion of that session from another handle: the deletion
// happens either before (HoldSession fails) or after the change commits,
// never in between.
func testRaceHoldSessionAgainstDelete(t *testing.T, open Opener) {
	s1, s2 := twoHandles(open, t)
	a := AutoCommit(s1)
	u := newUser(t, s1, "ana@example.com")
	held := 0
	for r := range raceRounds {
		hash := fmt.Sprintf("held-%d", r)
		if err := a.CreateSession(ctx, session(u.ID, hash, account.StageComplete)); err != nil {
			t.Fatal(err)
		}
		change, signOut := s1, s2
		if r%2 == 1 {
			change, signOut = s2, s1
		}
		var deleted *account.Session
		errChange, errDelete := race(func() error {
			return change.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				if err := tx.HoldSession(ctx, hash); err != nil {
					return err
				}
				jitter()
				return tx.UpdateProfile(ctx, u.ID, new(fmt.Sprintf("held %d", r)), new(phone))
			})
		}, func() error {
			jitter()
			return signOut.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				var err error
				if deleted, err = tx.DeleteSession(ctx, hash); err != nil {
					return err
				}
				// The sign-out's own write: it lands after the change's
				// write exactly when the deletion came after the commit.
				return tx.UpdateProfile(ctx, u.ID, new(fmt.Sprintf("signed out %d", r)), new(phone))
			})
		})
		if errDelete != nil || deleted == nil || !sameSession(deleted, session(u.ID, hash, account.StageComplete)) {
			t.Fatalf("round %d: DeleteSession = %+v, %v; want the session", r, deleted, errDelete)
		}
		switch {
		case errChange == nil:
			held++
		case !errors.Is(errChange, account.ErrNotFound):
			t.Fatalf("round %d: the change = %v; want nil or ErrNotFound", r, errChange)
		}
		if got := reload(t, s1, u.ID); got.Name != fmt.Sprintf("signed out %d", r) {
			t.Fatalf("round %d: name %q (change: %v); the session was deleted while the change held it, before its commit", r, got.Name, errChange)
		}
	}
	t.Logf("%d rounds: change committed first %d, session deleted first %d", raceRounds, held, raceRounds-held)
}

// A suspended authenticator's codes are refused where they are used, not
// only on the read before: a code step that read "not suspended" and
// commits after a concurrent wrong code suspended it uses nothing. Lifting
// the suspension (a backup code) makes codes work again.
func testSuspendedUsesNoCode(t *testing.T, open Opener) {
	s, _ := open(t)
	u := enabledUser(t, s, "ana@example.com")
	a := AutoCommit(s)
	if _, suspended, err := a.RecordSecondFactorFailure(ctx, u.ID, 1, t0); err != nil || !suspended {
		t.Fatalf("RecordSecondFactorFailure(suspendAfter 1) = %v, %v; want suspended", suspended, err)
	}
	if ok, err := a.AdvanceTOTPStep(ctx, u.ID, 200); err != nil || ok {
		t.Errorf("AdvanceTOTPStep while suspended = %v, %v; want false", ok, err)
	}
	if got := reload(t, s, u.ID); got.TOTP.LastStep != 100 {
		t.Errorf("last step after a refused code = %d; want 100", got.TOTP.LastStep)
	}
	if err := a.ClearSecondFactorFailures(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.AdvanceTOTPStep(ctx, u.ID, 200); err != nil || !ok {
		t.Errorf("AdvanceTOTPStep after the suspension was lifted = %v, %v; want true", ok, err)
	}
}
