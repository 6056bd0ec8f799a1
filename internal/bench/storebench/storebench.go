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
	"github.com/twofold/twofold/internal/store/storetest"
)

// Run runs the store-level hot paths against s as
// sub-benchmarks, for the go test -bench of each store package:
//
//   - SessionByTokenHash: the read behind every authenticated request, on a
//     table of sessions rows (size it with the sessions argument);
//   - UseBackupCodeMiss / UseBackupCodeHit: the conditional UPDATE that
//     checks and consumes a backup code;
//   - AdvanceTOTPStep: the compare-and-set that makes a TOTP code single-use;
//   - ReserveReleaseAttempt: the throttle reservation every code step
//     takes, and its release on success; ReserveReleaseAttempts2 the same
//     with the two keys of a password step (IP and account).
//
// Every write runs in its own Store.InTx, as a use case's statement does
// when it is the only one.
func Run(b *testing.B, s account.Store, sessions int) {
	ctx := context.Background()
	now := time.Now()
	setup := storetest.AutoCommit(s)
	u := &account.User{Email: "bench-store@example.com", Name: "B", MobilePhone: "+61400000000", PasswordHash: "$argon2id$x", CreatedAt: now}
	if err := setup.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	if err := setup.SetPendingTOTP(ctx, u.ID, account.SealedSecret{KeyID: "k", Ciphertext: []byte("c")}); err != nil {
		b.Fatal(err)
	}
	if err := setup.EnableTOTP(ctx, u.ID, account.SealedSecret{KeyID: "k", Ciphertext: []byte("c")}, 1, now); err != nil {
		b.Fatal(err)
	}
	hashes := make([]string, 0, sessions)
	batch := make([]*account.Session, 0, 5000)
	flush := func() {
		if seeder, ok := s.(bench.Seeder); ok {
			if err := seeder.SeedSessions(ctx, batch); err != nil {
				b.Fatal(err)
			}
		} else if err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
			for _, sess := range batch {
				if err := tx.CreateSession(ctx, sess); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
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
		if err := setup.ReplaceBackupCodes(ctx, u.ID, "k", codes, now); err != nil {
			b.Fatal(err)
		}
		wrong := randomHash(b)
		for b.Loop() {
			if ok, err := setup.UseBackupCode(ctx, u.ID, wrong, now); err != nil || ok {
				b.Fatalf("UseBackupCode(wrong) = %v, %v; want false, nil", ok, err)
			}
		}
	})
	b.Run("UseBackupCodeHit", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			code := randomHash(b)
			if err := setup.ReplaceBackupCodes(ctx, u.ID, "k", []string{code}, now); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if ok, err := setup.UseBackupCode(ctx, u.ID, code, now); err != nil || !ok {
				b.Fatalf("UseBackupCode(right) = %v, %v; want true, nil", ok, err)
			}
		}
	})
	b.Run("AdvanceTOTPStep", func(b *testing.B) {
		step := int64(1)
		for b.Loop() {
			step++
			if ok, err := setup.AdvanceTOTPStep(ctx, u.ID, step); err != nil || !ok {
				b.Fatalf("AdvanceTOTPStep(%d) = %v, %v; want true, nil", step, ok, err)
			}
		}
	})
	reserveRelease := func(keys ...string) func(b *testing.B) {
		limits := make([]account.AttemptLimit, len(keys))
		for i, k := range keys {
			limits[i] = account.AttemptLimit{Key: k, Limit: 10, Window: 15 * time.Minute}
		}
		return func(b *testing.B) {
			for b.Loop() {
				ids, refused, _, err := s.ReserveAttempts(ctx, now, limits)
				if err != nil || refused >= 0 || len(ids) != len(keys) {
					b.Fatalf("ReserveAttempts = %v, refused %d, %v", ids, refused, err)
				}
				if err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
					for _, id := range ids {
						if err := tx.ReleaseAttempt(ctx, id); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("ReserveReleaseAttempt", reserveRelease("bench:key"))
	b.Run("ReserveReleaseAttempts2", reserveRelease("bench:ip", "bench:email"))
}

func randomHash(b *testing.B) string {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}
