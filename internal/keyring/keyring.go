// Package keyring owns the server key and everything derived from it: the
// AES-256-GCM encryption of TOTP secrets at rest and the keyed hashes
// (HMAC-SHA-256) of backup codes. A copy of the database without the key
// reveals neither.
//
// Every ciphertext is stored with the id of the key that sealed it, so a
// later key can be added for new rows while old rows still open.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of the server key in bytes.
const KeySize = 32

// FileName is the key file created in the data directory on first run.
const FileName = "secret.key"

// ErrUnknownKey means a row was sealed with a key this server does not hold.
var ErrUnknownKey = errors.New("keyring: ciphertext sealed with an unknown key id")

type key struct {
	id   string
	aead cipher.AEAD
	mac  []byte
}

// Keyring holds the current key (used for new rows) and any keys it can open.
type Keyring struct {
	current *key
	byID    map[string]*key
	random  io.Reader
}

// New builds a keyring around one 32-byte server key.
func New(master []byte, random io.Reader) (*Keyring, error) {
	k, err := deriveKey(master)
	if err != nil {
		return nil, err
	}
	return &Keyring{current: k, byID: map[string]*key{k.id: k}, random: random}, nil
}

func deriveKey(master []byte) (*key, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("keyring: server key is %d bytes; want %d", len(master), KeySize)
	}
	derive := func(info string) []byte {
		b, err := hkdf.Key(sha256.New, master, nil, "twofold "+info, KeySize)
		if err != nil {
			panic(err) // only for lengths hkdf cannot produce; ours is fixed
		}
		return b
	}
	block, err := aes.NewCipher(derive("totp-secret encryption v1"))
	if err != nil {
		return nil, fmt.Errorf("keyring: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: gcm: %w", err)
	}
	return &key{
		id:   hex.EncodeToString(derive("key id v1")[:6]),
		aead: aead,
		mac:  derive("backup-code mac v1"),
	}, nil
}

// KeyID is the id of the key that seals new rows.
func (k *Keyring) KeyID() string { return k.current.id }

// Seal encrypts plaintext under the current key. additionalData binds the
// ciphertext to its row (for example the user id), so it cannot be copied
// into another row and still open.
func (k *Keyring) Seal(plaintext, additionalData []byte) (keyID string, ciphertext []byte, err error) {
	nonce := make([]byte, k.current.aead.NonceSize())
	if _, err := io.ReadFull(k.random, nonce); err != nil {
		return "", nil, fmt.Errorf("keyring: read nonce: %w", err)
	}
	return k.current.id, k.current.aead.Seal(nonce, nonce, plaintext, additionalData), nil
}

// Open decrypts a ciphertext sealed by Seal with the key named keyID.
func (k *Keyring) Open(keyID string, ciphertext, additionalData []byte) ([]byte, error) {
	kk, ok := k.byID[keyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	n := kk.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("keyring: ciphertext too short")
	}
	plaintext, err := kk.aead.Open(nil, ciphertext[:n], ciphertext[n:], additionalData)
	if err != nil {
		return nil, fmt.Errorf("keyring: open: %w", err)
	}
	return plaintext, nil
}

// MAC returns the keyed hash (HMAC-SHA-256, hex) of data under the current key.
func (k *Keyring) MAC(data []byte) string {
	h := hmac.New(sha256.New, k.current.mac)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// ParseKey accepts a 32-byte key written as 64 hex digits or as base64
// (standard or URL alphabet, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("keyring: the server key must be %d bytes as 64 hex digits or base64 (generate one with: openssl rand -base64 32)", KeySize)
}

// LoadFile reads the key file in dataDir; an error wrapping fs.ErrNotExist
// when there is none (nothing is created).
func LoadFile(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, FileName)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: read %s: %w", path, err)
	}
	master, err := ParseKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return master, nil
}

// LoadOrCreateFile reads the key file in dataDir, creating it with mode 0600
// and a fresh random key when it does not exist yet.
func LoadOrCreateFile(dataDir string, random io.Reader) (master []byte, created bool, err error) {
	path := filepath.Join(dataDir, FileName)
	raw, err := os.ReadFile(path)
	if err == nil {
		master, err := ParseKey(string(raw))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return master, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("keyring: read %s: %w", path, err)
	}
	master = make([]byte, KeySize)
	if _, err := io.ReadFull(random, master); err != nil {
		return nil, false, fmt.Errorf("keyring: generate key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("keyring: create data dir: %w", err)
	}
	// O_EXCL: if another instance created the file meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateFile(dataDir, random)
	}
	if err != nil {
		return nil, false, fmt.Errorf("keyring: create %s: %w", path, err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(master) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("keyring: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("keyring: sync %s: %w", path, err)
	}
	return master, true, f.Close()
}
