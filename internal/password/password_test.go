package password

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// cheap keeps the tests fast; the format and logic are the same as OWASP's.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h := NewHasher(cheap, rand.Reader, 2, 10, time.Second)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("Hash = %q; want a PHC argon2id string", enc)
	}
	if err := h.Verify(ctx, enc, "correct horse battery"); err != nil {
		t.Errorf("Verify(right password) = %v; want nil", err)
	}
	if err := h.Verify(ctx, enc, "correct horse batterY"); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(wrong password) = %v; want ErrMismatch", err)
	}
	again, _ := h.Hash(ctx, "correct horse battery")
	if again == enc {
		t.Error("two hashes of one password are equal; want distinct salts")
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash = true for the hasher's own parameters")
	}
	if !NewHasher(OWASP, rand.Reader, 1, 1, time.Second).NeedsRehash(enc) {
		t.Error("NeedsRehash = false for weaker parameters")
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(cheap, rand.Reader, 1, 1, time.Second)
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		if err := h.Verify(context.Background(), enc, "whatever"); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v; want ErrMalformedHash", enc, err)
		}
	}
}

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		pw   string
		want error
	}{
		{"1234567", ErrTooShort},
		{"12345678", nil},
		{"ééééééé", ErrTooShort}, // counted in characters, not bytes
		{strings.Repeat("a", 128), nil},
		{strings.Repeat("a", 129), ErrTooLong},
		{"all lowercase no digits", nil},
	}
	for _, tt := range tests {
		if got := CheckPolicy(tt.pw); got != tt.want {
			t.Errorf("CheckPolicy(%q) = %v; want %v", tt.pw, got, tt.want)
		}
	}
}

// A flood beyond the slots and the queue is turned away with ErrBusy rather
// than running more hashes at once than the limit.
func TestHasherBoundsConcurrency(t *testing.T) {
	slow := Params{Memory: 8 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := NewHasher(slow, rand.Reader, 1, 2, 10*time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy, ok := 0, 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Hash(context.Background(), "password1")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBusy):
				busy++
			case err == nil:
				ok++
			default:
				t.Errorf("Hash = %v", err)
			}
		}()
	}
	wg.Wait()
	if busy == 0 || ok == 0 {
		t.Errorf("20 concurrent hashes with 1 slot and a queue of 2: %d ok, %d busy; want some of each", ok, busy)
	}
}
