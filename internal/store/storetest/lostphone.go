package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

func helpRequest(userID int64, msg string, at time.Time) *account.HelpRequest {
	return &account.HelpRequest{UserID: userID, Message: msg, IP: "192.0.2.7", UserAgent: "Firefox", CreatedAt: at}
}

func openHelpRequests(t *testing.T, s account.Store) []*account.HelpRequest {
	t.Helper()
	reqs, err := s.OpenHelpRequests(ctx)
	if err != nil {
		t.Fatalf("OpenHelpRequests = %v", err)
	}
	return reqs
}

func helpRequestIDs(reqs []*account.HelpRequest) []int64 {
	out := make([]int64, len(reqs))
	for i, r := range reqs {
		out[i] = r.ID
	}
	return out
}

// One open help request per user; resolving them lets the user ask again;
// the list reads each request with its account's email and name as they
// are now.
func testHelpRequests(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana, bo := newUser(t, s, "ana@example.com"), newUser(t, s, "bo@example.com")
	if reqs := openHelpRequests(t, s); len(reqs) != 0 {
		t.Fatalf("OpenHelpRequests on an empty store = %v; want none", helpRequestIDs(reqs))
	}

	first := helpRequest(ana.ID, "I dropped it in the sea.\nCall me?", t0)
	if ok, err := a.AddHelpRequest(ctx, first); err != nil || !ok || first.ID == 0 {
		t.Fatalf("AddHelpRequest(ana) = %v, %v, id %d; want true and an id", ok, err, first.ID)
	}
	again := helpRequest(ana.ID, "again", t0.Add(time.Minute))
	if ok, err := a.AddHelpRequest(ctx, again); err != nil || ok || again.ID != 0 {
		t.Errorf("AddHelpRequest(ana, one open) = %v, %v, id %d; want false and no id", ok, err, again.ID)
	}
	other := helpRequest(bo.ID, "", t0.Add(2*time.Minute))
	if ok, err := a.AddHelpRequest(ctx, other); err != nil || !ok {
		t.Fatalf("AddHelpRequest(bo) = %v, %v; want true: ana's open request is not bo's", ok, err)
	}

	// The account's name changes after the request: the list joins it.
	name := "Ana Lima"
	if err := a.UpdateProfile(ctx, ana.ID, &name, nil); err != nil {
		t.Fatal(err)
	}
	reqs := openHelpRequests(t, s)
	if len(reqs) != 2 || reqs[0].ID != first.ID || reqs[1].ID != other.ID {
		t.Fatalf("OpenHelpRequests = %v; want [%d %d] (oldest first, the refused one not stored)", helpRequestIDs(reqs), first.ID, other.ID)
	}
	got := reqs[0]
	if got.UserID != ana.ID || got.Email != "ana@example.com" || got.Name != name || got.Message != first.Message ||
		got.IP != first.IP || got.UserAgent != first.UserAgent || !got.CreatedAt.Equal(t0) {
		t.Errorf("OpenHelpRequests[0] = %+v; want ana's request with her email and current name %q", got, name)
	}
	if reqs[1].Email != "bo@example.com" || reqs[1].Message != "" {
		t.Errorf("OpenHelpRequests[1] = %+v; want bo's, without a message", reqs[1])
	}

	if n, err := a.ResolveHelpRequests(ctx, ana.ID, "admin@example.com", t0.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("ResolveHelpRequests(ana) = %d, %v; want 1", n, err)
	}
	if n, err := a.ResolveHelpRequests(ctx, ana.ID, "admin@example.com", t0.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("ResolveHelpRequests(ana) again = %d, %v; want 0", n, err)
	}
	if reqs := openHelpRequests(t, s); len(reqs) != 1 || reqs[0].ID != other.ID {
		t.Errorf("OpenHelpRequests after resolving ana's = %v; want bo's %d only", helpRequestIDs(reqs), other.ID)
	}
	next := helpRequest(ana.ID, "still lost", t0.Add(2*time.Hour))
	if ok, err := a.AddHelpRequest(ctx, next); err != nil || !ok || next.ID == first.ID {
		t.Errorf("AddHelpRequest(ana) after ResolveHelpRequests = %v, %v, id %d; want true, a new id", ok, err, next.ID)
	}
	if reqs := openHelpRequests(t, s); len(reqs) != 2 || reqs[1].ID != next.ID {
		t.Errorf("OpenHelpRequests = %v; want bo's then ana's new one %d", helpRequestIDs(reqs), next.ID)
	}
}

func phoneVerification(userID int64, hash string, created time.Time) *account.PhoneVerification {
	return &account.PhoneVerification{UserID: userID, Phone: phone, CodeHash: hash, SentBy: "admin@example.com", Purpose: account.PurposeAdmin,
		CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}
}

func latestVerification(t *testing.T, s account.Store, userID int64) *account.PhoneVerification {
	t.Helper()
	v, err := s.LatestPhoneVerification(ctx, userID, account.PurposeAdmin)
	if err != nil {
		t.Fatalf("LatestPhoneVerification(%d) = %v", userID, err)
	}
	return v
}

// The texted codes: the newest is the one that counts; a wrong try and a
// right one are counted only while the code is unverified, under its try
// limit and unexpired; a verification allows one use, the newest first.
func testPhoneVerifications(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana, bo := newUser(t, s, "ana@example.com"), newUser(t, s, "bo@example.com")
	if _, err := s.LatestPhoneVerification(ctx, ana.ID, account.PurposeAdmin); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("LatestPhoneVerification before any = %v; want ErrNotFound", err)
	}
	older, newer, bos := phoneVerification(ana.ID, "h1", t0), phoneVerification(ana.ID, "h2", t0.Add(time.Minute)), phoneVerification(bo.ID, "b1", t0.Add(2*time.Minute))
	for _, v := range []*account.PhoneVerification{older, newer, bos} {
		if err := a.CreatePhoneVerification(ctx, v); err != nil || v.ID == 0 {
			t.Fatalf("CreatePhoneVerification = %v, id %d", err, v.ID)
		}
	}
	got := latestVerification(t, s, ana.ID)
	if got.ID != newer.ID || got.UserID != ana.ID || got.Phone != phone || got.CodeHash != "h2" || got.SentBy != "admin@example.com" ||
		!got.CreatedAt.Equal(newer.CreatedAt) || !got.ExpiresAt.Equal(newer.ExpiresAt) || got.Failures != 0 ||
		!got.VerifiedAt.IsZero() || !got.ConsumedAt.IsZero() {
		t.Errorf("LatestPhoneVerification(ana) = %+v; want the newer one (%d), untried", got, newer.ID)
	}

	const tries = 3
	at := newer.CreatedAt.Add(time.Minute)
	// Failures up to the limit, then no more.
	for i := 1; i <= tries; i++ {
		if ok, err := a.FailPhoneVerification(ctx, newer.ID, tries, at); err != nil || !ok {
			t.Fatalf("FailPhoneVerification #%d = %v, %v; want true", i, ok, err)
		}
	}
	for _, tt := range []struct {
		name string
		id   int64
		at   time.Time
	}{
		{"at the try limit", newer.ID, at},
		{"the moment it expires", older.ID, older.ExpiresAt},
		{"after it expired", older.ID, older.ExpiresAt.Add(time.Second)},
		{"unknown", bos.ID + 1000, at},
	} {
		if ok, err := a.FailPhoneVerification(ctx, tt.id, tries, tt.at); err != nil || ok {
			t.Errorf("FailPhoneVerification(%s) = %v, %v; want false", tt.name, ok, err)
		}
		if ok, err := a.VerifyPhoneVerification(ctx, tt.id, tries, tt.at); err != nil || ok {
			t.Errorf("VerifyPhoneVerification(%s) = %v, %v; want false", tt.name, ok, err)
		}
	}
	if got := latestVerification(t, s, ana.ID); got.Failures != tries || !got.VerifiedAt.IsZero() {
		t.Errorf("after the refused tries: failures %d, verified %v; want %d, unverified", got.Failures, got.VerifiedAt, tries)
	}

	// The older code, just before it expires: one wrong try, then right.
	last := older.ExpiresAt.Add(-time.Millisecond)
	if ok, err := a.FailPhoneVerification(ctx, older.ID, tries, last); err != nil || !ok {
		t.Errorf("FailPhoneVerification(a millisecond before expiry) = %v, %v; want true", ok, err)
	}
	if ok, err := a.VerifyPhoneVerification(ctx, older.ID, tries, last); err != nil || !ok {
		t.Fatalf("VerifyPhoneVerification(a millisecond before expiry) = %v, %v; want true", ok, err)
	}
	if ok, err := a.VerifyPhoneVerification(ctx, older.ID, tries, last); err != nil || ok {
		t.Errorf("VerifyPhoneVerification(verified) = %v, %v; want false", ok, err)
	}
	if ok, err := a.FailPhoneVerification(ctx, older.ID, tries, last); err != nil || ok {
		t.Errorf("FailPhoneVerification(verified) = %v, %v; want false", ok, err)
	}
	// LatestPhoneVerification reads it by id, not by the latest change.
	if got := latestVerification(t, s, ana.ID); got.ID != newer.ID {
		t.Errorf("LatestPhoneVerification(ana) = %d; want still the newer %d", got.ID, newer.ID)
	}

	// bo's: verified at t0+3m; consumption looks for a verification after since.
	bosAt := bos.CreatedAt.Add(time.Minute)
	if ok, err := a.VerifyPhoneVerification(ctx, bos.ID, tries, bosAt); err != nil || !ok {
		t.Fatalf("VerifyPhoneVerification(bo) = %v, %v; want true", ok, err)
	}
	if got := latestVerification(t, s, bo.ID); !got.VerifiedAt.Equal(bosAt) || got.Failures != 0 {
		t.Errorf("bo's verification = %+v; want verified at %v", got, bosAt)
	}
	use := bosAt.Add(5 * time.Minute)
	for _, tt := range []struct {
		name  string
		user  int64
		since time.Time
		used  bool
	}{
		{"verified at since exactly", bo.ID, bosAt, false},
		{"verified after since", bo.ID, bosAt.Add(-time.Millisecond), true},
		{"used already", bo.ID, bosAt.Add(-time.Hour), false},
	} {
		if ok, err := a.ConsumePhoneVerification(ctx, tt.user, account.PurposeAdmin, tt.since, use); err != nil || ok != tt.used {
			t.Errorf("ConsumePhoneVerification(%s) = %v, %v; want %v", tt.name, ok, err, tt.used)
		}
	}
	if got := latestVerification(t, s, bo.ID); !got.ConsumedAt.Equal(use) {
		t.Errorf("bo's verification consumed at %v; want %v", got.ConsumedAt, use)
	}

	// ana's newest code is unverified: a code sent after a verification
	// replaces it, so nothing is used (as the reset page shows it).
	if ok, err := a.ConsumePhoneVerification(ctx, ana.ID, account.PurposeAdmin, t0, use); err != nil || ok {
		t.Errorf("ConsumePhoneVerification(ana) = %v, %v; want false (a newer code, unverified, replaced the verified one)", ok, err)
	}
	if got := latestVerification(t, s, ana.ID); !got.ConsumedAt.IsZero() {
		t.Errorf("ana's unverified newest code consumed at %v; want never", got.ConsumedAt)
	}
}

// One verification allows one reset, whatever races: from two handles, as
// two instances would.
func testConsumePhoneVerificationConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := newUser(t, s, "ana@example.com")
	v := phoneVerification(u.ID, "h1", t0)
	a := AutoCommit(s)
	if err := a.CreatePhoneVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.VerifyPhoneVerification(ctx, v.ID, 5, t0.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("VerifyPhoneVerification = %v, %v", ok, err)
	}
	n := concurrently(t, 20, func(i int) (bool, error) {
		return AutoCommit(pick(i)).ConsumePhoneVerification(ctx, u.ID, account.PurposeAdmin, t0, t0.Add(2*time.Minute))
	})
	if n != 1 {
		t.Errorf("%d of 20 concurrent ConsumePhoneVerification succeeded; want 1", n)
	}
}

// Racing wrong tries count each once, up to the limit, and none counts
// past it.
func testFailPhoneVerificationConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := newUser(t, s, "ana@example.com")
	v := phoneVerification(u.ID, "h1", t0)
	if err := AutoCommit(s).CreatePhoneVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	n := concurrently(t, 20, func(i int) (bool, error) {
		return AutoCommit(pick(i)).FailPhoneVerification(ctx, v.ID, 5, t0.Add(time.Minute))
	})
	if got := latestVerification(t, s, u.ID); n != 5 || got.Failures != 5 {
		t.Errorf("20 concurrent FailPhoneVerification(tries 5): %d counted, %d stored; want 5 and 5", n, got.Failures)
	}
}
