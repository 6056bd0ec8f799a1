package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

func device(userID int64, hash string, created time.Time) *account.Device {
	return &account.Device{UserID: userID, TokenHash: hash, UserAgent: "Firefox", IP: "192.0.2.1",
		CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour)}
}

func testRememberedDevices(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana, bo := newUser(t, s, "ana@example.com"), newUser(t, s, "bo@example.com")
	d1, d2, other := device(ana.ID, "d1", t0), device(ana.ID, "d2", t0.Add(time.Minute)), device(bo.ID, "b1", t0)
	for _, d := range []*account.Device{d1, d2, other} {
		if err := a.CreateDevice(ctx, d); err != nil || d.ID == 0 {
			t.Fatalf("CreateDevice = %v, id %d", err, d.ID)
		}
	}
	got, err := s.DeviceByTokenHash(ctx, "d1")
	if err != nil || got.ID != d1.ID || got.UserID != ana.ID || got.Stale || got.UserAgent != "Firefox" || !got.ExpiresAt.Equal(d1.ExpiresAt) {
		t.Fatalf("DeviceByTokenHash(d1) = %+v, %v; want device %d, not stale", got, err, d1.ID)
	}
	if _, err := s.DeviceByTokenHash(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("DeviceByTokenHash(unknown) = %v; want ErrNotFound", err)
	}

	// Rotation: only with the current token, the owner and before expiry.
	later := t0.Add(time.Hour)
	c := account.Client{IP: "198.51.100.9", UserAgent: "Firefox 2"}
	for _, tt := range []struct {
		name     string
		userID   int64
		old      string
		at       time.Time
		rotated  bool
		nextHash string
	}{
		{"another user's", bo.ID, "d1", later, false, "x1"},
		{"expired", ana.ID, "d1", t0.Add(31 * 24 * time.Hour), false, "x2"},
		{"current token", ana.ID, "d1", later, true, "d1b"},
		{"the replaced token", ana.ID, "d1", later, false, "x3"},
	} {
		ok, err := a.RotateDevice(ctx, tt.userID, d1.ID, tt.old, tt.nextHash, tt.at, c)
		if err != nil || ok != tt.rotated {
			t.Errorf("RotateDevice(%s) = %v, %v; want %v", tt.name, ok, err, tt.rotated)
		}
	}
	got, err = s.DeviceByTokenHash(ctx, "d1")
	if err != nil || got.ID != d1.ID || !got.Stale || got.TokenHash != "d1b" {
		t.Errorf("DeviceByTokenHash(previous token) = %+v, %v; want device %d, stale, current d1b", got, err, d1.ID)
	}
	got, err = s.DeviceByTokenHash(ctx, "d1b")
	if err != nil || got.Stale || !got.LastUsedAt.Equal(later) || got.IP != c.IP || got.UserAgent != c.UserAgent || !got.CreatedAt.Equal(t0) {
		t.Errorf("DeviceByTokenHash(new token) = %+v, %v; want its use recorded, created unchanged", got, err)
	}

	// Listing: live devices only, the most recently used first.
	list, err := s.Devices(ctx, ana.ID, t0.Add(time.Minute))
	if err != nil || len(list) != 2 || list[0].ID != d1.ID || list[1].ID != d2.ID {
		t.Fatalf("Devices = %v, %v; want d1 (used last) then d2", ids(list), err)
	}
	if list, _ := s.Devices(ctx, ana.ID, t0.Add(30*24*time.Hour+time.Minute)); len(list) != 0 {
		t.Errorf("Devices after they expire = %v; want none", ids(list))
	}

	// Forgetting: one of one's own, then all.
	if err := a.ForgetDevice(ctx, ana.ID, other.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("ForgetDevice(another user's) = %v; want ErrNotFound", err)
	}
	if err := a.ForgetDevice(ctx, ana.ID, d2.ID); err != nil {
		t.Errorf("ForgetDevice = %v", err)
	}
	if n, err := a.ForgetDevices(ctx, ana.ID); err != nil || n != 1 {
		t.Errorf("ForgetDevices = %d, %v; want 1", n, err)
	}
	if list, _ := s.Devices(ctx, ana.ID, t0); len(list) != 0 {
		t.Errorf("Devices after ForgetDevices = %v; want none", ids(list))
	}
	if _, err := s.DeviceByTokenHash(ctx, "b1"); err != nil {
		t.Errorf("bo's device after ana's were forgotten: %v; want it kept", err)
	}

	// DeleteExpired removes expired devices only.
	live := device(bo.ID, "b2", t0.Add(24*time.Hour))
	if err := a.CreateDevice(ctx, live); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExpired(ctx, t0.Add(30*24*time.Hour), t0, t0, t0); err != nil {
		t.Fatal(err)
	}
	for hash, want := range map[string]bool{"b1": false, "b2": true} {
		if _, err := s.DeviceByTokenHash(ctx, hash); (err == nil) != want {
			t.Errorf("after DeleteExpired: device %s found = %v; want %v", hash, err == nil, want)
		}
	}
}

func ids(devices []*account.Device) []int64 {
	out := make([]int64, len(devices))
	for i, d := range devices {
		out[i] = d.ID
	}
	return out
}

// One token rotates once, whatever races: from two handles, as two
// instances would.
func testRotateDeviceConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := newUser(t, s, "ana@example.com")
	d := device(u.ID, "d1", t0)
	if err := AutoCommit(s).CreateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	n := concurrently(t, 20, func(i int) (bool, error) {
		return AutoCommit(pick(i)).RotateDevice(ctx, u.ID, d.ID, "d1", fmt.Sprintf("next%d", i), t0.Add(time.Minute), account.Client{})
	})
	if n != 1 {
		t.Errorf("%d of 20 concurrent rotations of one token succeeded; want 1", n)
	}
}
