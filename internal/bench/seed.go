package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/totp"
)

// benchUser is a seeded user the load generator signs in as.
type benchUser struct {
	email  string
	secret []byte // the TOTP secret in clear, to compute codes
}

// group is the users of one scenario.
type group struct {
	name  string
	users []benchUser
}

type seeder struct {
	cfg *Config
	run string // random per run, so runs against one database never collide
}

func (s *seeder) newUser(name string, i int, hash string, now time.Time) *account.User {
	return &account.User{
		Email: fmt.Sprintf("bench-%s-%s-%d@example.com", s.run, name, i), Name: "Bench User",
		MobilePhone: "+61412345678", PasswordHash: hash, CreatedAt: now,
		TOTP: &account.TOTPState{LastStep: 0},
	}
}

// group seeds n users with 2FA on and keeps their secrets.
func (s *seeder) group(ctx context.Context, name string, n int, hash string) (*group, error) {
	now := time.Now()
	users := make([]*account.User, n)
	index := make(map[*account.User]int, n)
	g := &group{name: name, users: make([]benchUser, n)}
	for i := range users {
		users[i] = s.newUser(name, i, hash, now)
		index[users[i]] = i
		g.users[i].email = users[i].Email
	}
	err := s.cfg.Seeder.SeedUsers(ctx, users, func(u *account.User) (account.SealedSecret, error) {
		secret, err := totp.NewSecret(rand.Reader)
		if err != nil {
			return account.SealedSecret{}, err
		}
		g.users[index[u]].secret = secret
		keyID, ct, err := s.cfg.Keys.Seal(secret, account.SecretAdditionalData(u.ID))
		return account.SealedSecret{KeyID: keyID, Ciphertext: ct}, err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: seed %s users: %w", name, err)
	}
	return g, nil
}

// fillerChunk bounds the memory of seeding millions of filler users.
const fillerChunk = 50_000

// filler seeds n users with 2FA on, each with one signed-in session, in
// chunks; their secrets are thrown away. They only make the tables (and
// their indexes) as big as a large installation's.
func (s *seeder) filler(ctx context.Context, n int, hash string) error {
	now := time.Now()
	seal := func(u *account.User) (account.SealedSecret, error) {
		secret, err := totp.NewSecret(rand.Reader)
		if err != nil {
			return account.SealedSecret{}, err
		}
		keyID, ct, err := s.cfg.Keys.Seal(secret, account.SecretAdditionalData(u.ID))
		return account.SealedSecret{KeyID: keyID, Ciphertext: ct}, err
	}
	for start := 0; start < n; start += fillerChunk {
		size := min(fillerChunk, n-start)
		users := make([]*account.User, size)
		for i := range users {
			users[i] = s.newUser("filler", start+i, hash, now)
		}
		if err := s.cfg.Seeder.SeedUsers(ctx, users, seal); err != nil {
			return fmt.Errorf("bench: seed filler users: %w", err)
		}
		sessions := make([]*account.Session, size)
		for i, u := range users {
			token := make([]byte, 32)
			if _, err := rand.Read(token); err != nil {
				return err
			}
			// A random stand-in for the hash of a token nobody holds.
			sum := sha256.Sum256(token)
			sessions[i] = &account.Session{
				TokenHash: hex.EncodeToString(sum[:]), UserID: u.ID, Stage: account.StageComplete,
				CreatedAt: now, LastSeenAt: now, AuthenticatedAt: now, ExpiresAt: now.Add(12 * time.Hour),
				IP: "127.0.0.1", UserAgent: "twofold-bench filler",
			}
		}
		if err := s.cfg.Seeder.SeedSessions(ctx, sessions); err != nil {
			return fmt.Errorf("bench: seed filler sessions: %w", err)
		}
		if (start/fillerChunk)%10 == 9 {
			s.cfg.logf("seeded %d of %d filler users", start+size, n)
		}
	}
	return nil
}
