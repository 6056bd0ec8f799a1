package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

func disavowal(userID int64, hash string, kind account.EventKind) *account.Disavowal {
	return &account.Disavowal{UserID: userID, TokenHash: hash, Kind: kind, CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
}

// The "This wasn't me" links: stored and read back by their hash, used
// once, only by their own account and before they expire, each use
// bumping the account's security version; expired ones are cleaned up.
func testDisavowals(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana, bo := newUser(t, s, "ana@example.com"), newUser(t, s, "bo@example.com")
	boVersion := bo.SecurityVersion
	d := disavowal(ana.ID, "h1", account.EventPasswordChanged)
	d.PreviousPasswordHash = "$argon2id$old"
	plain := disavowal(ana.ID, "h2", account.EventDeviceRemembered)
	for _, x := range []*account.Disavowal{d, plain} {
		if err := a.CreateDisavowal(ctx, x); err != nil || x.ID == 0 {
			t.Fatalf("CreateDisavowal = %v, id %d", err, x.ID)
		}
	}
	got, err := s.DisavowalByTokenHash(ctx, "h1")
	if err != nil || got.ID != d.ID || got.UserID != ana.ID || got.Kind != account.EventPasswordChanged || got.PreviousPasswordHash != "$argon2id$old" ||
		!got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(d.ExpiresAt) || !got.UsedAt.IsZero() {
		t.Fatalf("DisavowalByTokenHash(h1) = %+v, %v; want %+v", got, err, d)
	}
	if got, err := s.DisavowalByTokenHash(ctx, "h2"); err != nil || got.PreviousPasswordHash != "" {
		t.Errorf("DisavowalByTokenHash(h2) = %+v, %v; want no previous password hash", got, err)
	}
	if _, err := s.DisavowalByTokenHash(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("DisavowalByTokenHash(unknown) = %v; want ErrNotFound", err)
	}
	if err := a.CreateDisavowal(ctx, disavowal(bo.ID, "h1", account.EventTwoFactorEnabled)); err == nil {
		t.Error("CreateDisavowal with a token hash already stored = nil; want an error")
	}

	version := reload(t, s, ana.ID).SecurityVersion
	later := t0.Add(time.Hour)
	for _, tt := range []struct {
		name   string
		userID int64
		at     time.Time
		used   bool
	}{
		{"another user's", bo.ID, later, false},
		{"expired", ana.ID, d.ExpiresAt, false},
		{"its own, in time", ana.ID, later, true},
		{"again", ana.ID, later.Add(time.Minute), false},
	} {
		used, err := a.UseDisavowal(ctx, d.ID, tt.userID, tt.at)
		if err != nil || used != tt.used {
			t.Errorf("UseDisavowal(%s) = %v, %v; want %v", tt.name, used, err, tt.used)
		}
	}
	got, err = s.DisavowalByTokenHash(ctx, "h1")
	if err != nil || !got.UsedAt.Equal(later) || got.PreviousPasswordHash != "" {
		t.Errorf("after its use: %+v, %v; want used at %s and the previous password hash cleared", got, err, later)
	}
	if v := reload(t, s, ana.ID).SecurityVersion; v != version+1 {
		t.Errorf("security version after one use and three refusals = %d; want %d", v, version+1)
	}
	if v := reload(t, s, bo.ID).SecurityVersion; v != boVersion {
		t.Errorf("Bo's security version after Ana's link = %d; want %d", v, boVersion)
	}

	// Cleanup: expired links go, live ones stay.
	if err := s.DeleteExpired(ctx, d.ExpiresAt, t0, t0, t0); err != nil {
		t.Fatal(err)
	}
	for _, hash := range []string{"h1", "h2"} {
		if _, err := s.DisavowalByTokenHash(ctx, hash); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("DisavowalByTokenHash(%s) after it expired and DeleteExpired = %v; want ErrNotFound", hash, err)
		}
	}
}

// Of many uses of one link at once, from two instances, one succeeds, and
// the security version is bumped once.
func testUseDisavowalConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := newUser(t, s, "ana@example.com")
	d := disavowal(u.ID, "h1", account.EventTwoFactorEnabled)
	if err := AutoCommit(s).CreateDisavowal(ctx, d); err != nil {
		t.Fatal(err)
	}
	version := reload(t, s, u.ID).SecurityVersion
	n := concurrently(t, 20, func(i int) (bool, error) {
		return AutoCommit(pick(i)).UseDisavowal(ctx, d.ID, u.ID, t0.Add(time.Minute))
	})
	if n != 1 {
		t.Errorf("%d of 20 concurrent uses of one link succeeded; want 1", n)
	}
	if v := reload(t, s, u.ID).SecurityVersion; v != version+1 {
		t.Errorf("security version = %d; want %d (bumped once)", v, version+1)
	}
}
