// Package password hashes and verifies passwords with argon2id and bounds how
// many hashes run at once, so a flood of sign-ins queues (and then is turned
// away) instead of exhausting memory.
package password

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Length bounds. No composition rules (NIST SP 800-63B §5.1.1.2).
const (
	MinLength = 8
	MaxLength = 128
)

var (
	// ErrMismatch means the password does not match the hash.
	ErrMismatch = errors.New("password: mismatch")
	// ErrBusy means too many hashes are running or waiting; try again later.
	ErrBusy = errors.New("password: too many sign-ins in progress")
	// ErrTooShort and ErrTooLong are returned by CheckPolicy.
	ErrTooShort = fmt.Errorf("password: must be at least %d characters", MinLength)
	ErrTooLong  = fmt.Errorf("password: must be at most %d characters", MaxLength)
	// ErrMalformedHash means a stored hash is not an argon2id PHC string.
	ErrMalformedHash = errors.New("password: malformed argon2id hash")
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id configuration
// (m=19 MiB, t=2, p=1).
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords, at most a fixed number at a time.
type Hasher struct {
	params  Params
	random  io.Reader
	slots   chan struct{}
	waiting chan struct{}
	maxWait time.Duration
}

// NewHasher returns a Hasher that runs at most concurrent hashes at once,
// lets at most queue more wait for a slot, and gives up (ErrBusy) on a
// request that waited maxWait.
func NewHasher(params Params, random io.Reader, concurrent, queue int, maxWait time.Duration) *Hasher {
	return &Hasher{
		params:  params,
		random:  random,
		slots:   make(chan struct{}, max(concurrent, 1)),
		waiting: make(chan struct{}, max(queue, 0)+max(concurrent, 1)),
		maxWait: maxWait,
	}
}

// Saturated reports whether every slot and every place in the queue is
// taken, so that a caller can turn a request away before doing any work for
// it. It is a hint: a place may free up or be taken right after.
func (h *Hasher) Saturated() bool { return len(h.waiting) == cap(h.waiting) }

// Load reports the hashes running now, those waiting for a slot, and the
// number of slots, for metrics.
func (h *Hasher) Load() (running, waiting, slots int) {
	running = len(h.slots)
	return running, max(len(h.waiting)-running, 0), cap(h.slots)
}

// CheckPolicy reports whether a new password is acceptable.
func CheckPolicy(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	return nil
}

func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.waiting <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots; <-h.waiting }, nil
	case <-timer.C:
		<-h.waiting
		return nil, ErrBusy
	case <-ctx.Done():
		<-h.waiting
		return nil, ctx.Err()
	}
}

// Hash returns the PHC string of pw under a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.random, salt); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	p := h.params
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports nil when pw matches the PHC string encoded, ErrMismatch
// when it does not. The parameters stored in the hash are used, so hashes
// made with older parameters keep working.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) error {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// NeedsRehash reports whether encoded was made with other parameters than h's.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := parsePHC(encoded)
	return err != nil || p.Memory != h.params.Memory || p.Time != h.params.Time || p.Threads != h.params.Threads
}

func parsePHC(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, ErrMalformedHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
