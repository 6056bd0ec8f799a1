package keyring

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func testKeyring(t *testing.T, fill byte) *Keyring {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{fill}, KeySize), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := testKeyring(t, 1)
	secret := []byte("JBSWY3DPEHPK3PXP-secret")
	id, ct, err := k.Seal(secret, []byte("user:1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, secret) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := k.Open(id, ct, []byte("user:1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v; want %q", got, err, secret)
	}
	if _, err := k.Open(id, ct, []byte("user:2")); err == nil {
		t.Error("Open with another row's additional data succeeded; want failure")
	}
	if _, err := testKeyring(t, 2).Open(id, ct, []byte("user:1")); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open under another key = %v; want ErrUnknownKey", err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := k.Open(id, ct, []byte("user:1")); err == nil {
		t.Error("Open of a tampered ciphertext succeeded; want failure")
	}
	if _, err := k.Open(id, []byte{1, 2}, nil); err == nil {
		t.Error("Open of a short ciphertext succeeded; want failure")
	}
}

func TestMACDependsOnKey(t *testing.T) {
	a, b := testKeyring(t, 1), testKeyring(t, 2)
	if a.MAC([]byte("abcde12345")) == b.MAC([]byte("abcde12345")) {
		t.Error("MAC is the same under two keys")
	}
	first, second := a.MAC([]byte("abcde12345")), a.MAC([]byte("abcde12345"))
	if first != second {
		t.Error("MAC is not deterministic")
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, KeySize)
	for _, s := range []string{hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw) + "\n"} {
		if got, err := ParseKey(s); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(raw[:16])} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) succeeded; want error", s)
		}
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, created, err := LoadOrCreateFile(dir, rand.Reader)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateFile = created %v, %v", created, err)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o; want 600", mode)
	}
	second, created, err := LoadOrCreateFile(dir, rand.Reader)
	if err != nil || created || !bytes.Equal(first, second) {
		t.Errorf("second LoadOrCreateFile = created %v, equal %v, %v; want the same key", created, bytes.Equal(first, second), err)
	}
}
