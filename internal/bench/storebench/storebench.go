// Package storebench holds the store-level benchmarks of the hot paths,
// shared by the go test -bench of every account.Store implementation (kept
// out of package bench so the twofold binary does not link "testing").
package storebench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/bench"
)

// Run runs the store-level hot paths against s as
// sub-benchmarks, for the go test -bench of each store package:
//
//   - SessionByTokenHash: the read behind every authenticated request, on a
//     table of sessions rows (size it with the sessions argument);
//   - UseBackupCodeMiss / UseBackupCodeHit: the conditional UPDATE that
//     checks and consumes a backup code;
//   - AdvanceTOTPStep: the compare-and-set that makes a TOTP code single-use;
//   - ReserveReleaseAttempt: the throttle reservation every code step and
//     password step takes, and its release on success.
func Run(b *testing.B, s account.Store, sessions int) {
	ctx := context.Background()
	now := time.Now()
	u := &account.User{Email: "bench-store@example.com", Name: "B", PasswordHash: "$argon2id$x", CreatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	if err := s.SetPendingTOTP(ctx, u.ID, account.SealedSecret{KeyID: "k", Ciphertext: []byte("c")}); err != nil {
		b.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, u.ID, account.SealedSecret{KeyID: "k", Ciphertext: []byte("c")}, 1, now); err != nil {
		b.Fatal(err)
	}
	hashes := make([]string, 0, sessions)
	batch := make([]*account.Session, 0, 5000)
	flush := func() {
		if seeder, ok := s.(bench.Seeder); ok {
			if err := seeder.SeedSessions(ctx, batch); err != nil {
				b.Fatal(err)
			}
		} else {
			for _, sess := range batch {
				if err := s.CreateSession(ctx, sess); err != nil {
					b.Fatal(err)
				}
			}
		}
		batch = batch[:0]
	}
	for range sessions {
		h := randomHash(b)
		hashes = append(hashes, h)
		batch = append(batch, &account.Session{TokenHash: h, UserID: u.ID, Stage: account.StageComplete,
			CreatedAt: now, LastSeenAt: now, AuthenticatedAt: now, ExpiresAt: now.Add(time.Hour)})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()

	b.Run("SessionByTokenHash", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.SessionByTokenHash(ctx, hashes[i%len(hashes)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("UseBackupCodeMiss", func(b *testing.B) {
		codes := []string{randomHash(b), randomHash(b)}
		if err := s.ReplaceBackupCodes(ctx, u.ID, "k", codes, now); err != nil {
			b.Fatal(err)
		}
		wrong := randomHash(b)
		for b.Loop() {
			if ok, err := s.UseBackupCode(ctx, u.ID, wrong, now); err != nil || ok {
				b.Fatalf("UseBackupCode(wrong) = %v, %v; want false, nil", ok, err)
			}
		}
	})
	b.Run("UseBackupCodeHit", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			code := randomHash(b)
			if err := s.ReplaceBackupCodes(ctx, u.ID, "k", []string{code}, now); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if ok, err := s.UseBackupCode(ctx, u.ID, code, now); err != nil || !ok {
				b.Fatalf("UseBackupCode(right) = %v, %v; want true, nil", ok, err)
			}
		}
	})
	b.Run("AdvanceTOTPStep", func(b *testing.B) {
		step := int64(1)
		for b.Loop() {
			step++
			if ok, err := s.AdvanceTOTPStep(ctx, u.ID, step); err != nil || !ok {
				b.Fatalf("AdvanceTOTPStep(%d) = %v, %v; want true, nil", step, ok, err)
			}
		}
	})
	b.Run("ReserveReleaseAttempt", func(b *testing.B) {
		for b.Loop() {
			id, ok, _, err := s.ReserveAttempt(ctx, "bench:key", now, now.Add(-15*time.Minute), 10)
			if err != nil || !ok {
				b.Fatalf("ReserveAttempt = %v, %v", ok, err)
			}
			if err := s.ReleaseAttempt(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func randomHash(b *testing.B) string {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}
