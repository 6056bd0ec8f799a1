// Package totp implements time-based one-time passwords (RFC 6238, built on
// the HOTP algorithm of RFC 4226) and the otpauth Key Uri Format used by
// authenticator apps. It owns the arithmetic only; the rule that a code is
// accepted at most once lives in the account package, which stores the time
// step that Validate returns.
package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Defaults fixed by the product: every mainstream authenticator app supports
// exactly this combination.
const (
	Digits     = 6
	Period     = 30 * time.Second
	SecretSize = 20 // 160 bits, the HMAC-SHA-1 block recommendation of RFC 4226.
)

// ErrMalformedCode means the input cannot be a TOTP code at all (wrong length
// or non-digits), as opposed to a well-formed code that does not match.
var ErrMalformedCode = errors.New("totp: code must be 6 digits")

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret reads a fresh 160-bit secret from random (crypto/rand in production).
func NewSecret(random io.Reader) ([]byte, error) {
	secret := make([]byte, SecretSize)
	if _, err := io.ReadFull(random, secret); err != nil {
		return nil, fmt.Errorf("totp: read random secret: %w", err)
	}
	return secret, nil
}

// EncodeSecret returns the secret as unpadded upper-case base32, the form
// authenticator apps expect.
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// DecodeSecret parses base32 as typed by a person: spaces, hyphens and case
// are ignored and padding is optional.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(s))
	secret, err := b32.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("totp: decode base32 secret: %w", err)
	}
	return secret, nil
}

// GroupSecret formats the base32 secret in groups of four for manual entry.
func GroupSecret(secret []byte) string {
	enc := EncodeSecret(secret)
	var b strings.Builder
	for i := 0; i < len(enc); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(enc[i:min(i+4, len(enc))])
	}
	return b.String()
}

// Step returns the RFC 6238 time step (T) that t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// HOTP computes the RFC 4226 value for counter with the given number of digits.
func HOTP(secret []byte, counter int64, digits int) string {
	mac := hmac.New(sha1.New, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, value%mod)
}

// Code returns the 6-digit code for the time step containing t.
func Code(secret []byte, t time.Time) string { return HOTP(secret, Step(t), Digits) }

// NormalizeCode strips what people and apps add around a code (spaces,
// hyphens, dots) and reports ErrMalformedCode unless six digits remain.
func NormalizeCode(input string) (string, error) {
	var b strings.Builder
	for _, r := range input {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '\t':
		default:
			return "", ErrMalformedCode
		}
	}
	if b.Len() != Digits {
		return "", ErrMalformedCode
	}
	return b.String(), nil
}

// Validate checks code against the steps from now-skew to now+skew and
// returns the matched time step, so the caller can refuse it (and every
// earlier step) next time. Steps at or below notAfter are never matched:
// pass the last accepted step to make replay impossible.
func Validate(secret []byte, code string, now time.Time, skew int, lastUsed int64) (step int64, ok bool) {
	normalized, err := NormalizeCode(code)
	if err != nil {
		return 0, false
	}
	current := Step(now)
	// Every candidate is computed, so the time taken does not depend on
	// which step (if any) matched.
	for s := current - int64(skew); s <= current+int64(skew); s++ {
		candidate := HOTP(secret, s, Digits)
		if subtle.ConstantTimeCompare([]byte(candidate), []byte(normalized)) == 1 && s > lastUsed && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// URI builds the otpauth:// Key Uri Format link that authenticator apps scan:
// otpauth://totp/Issuer:account?secret=...&issuer=Issuer&algorithm=SHA1&digits=6&period=30.
// Issuer and account are path-escaped; a colon inside the issuer would split
// the label wrongly, so it is replaced.
func URI(issuer, account string, secret []byte) string {
	issuer = strings.ReplaceAll(issuer, ":", " ")
	label := labelEscape(issuer) + ":" + labelEscape(account)
	q := url.Values{}
	q.Set("secret", EncodeSecret(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(Digits))
	q.Set("period", fmt.Sprint(int(Period/time.Second)))
	// Encode writes a space as +, which apps read as a plus (RFC 3986 has no
	// such rule); a literal + is already %2B.
	return "otpauth://totp/" + label + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// labelEscape path-escapes s, and a + as well: some apps decode the label
// like a form, where + means a space (ana+2fa@example.com).
func labelEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// Drift says how far from now a code would have been right, for a code
// Validate refused: the offset in steps (negative: the code is of an
// earlier step, so the clock that made it is behind) of the nearest step
// within window of now, other than used, whose code it is. Every step of
// the window is computed, as in Validate.
func Drift(secret []byte, code string, now time.Time, window int, used int64) (steps int, ok bool) {
	normalized, err := NormalizeCode(code)
	if err != nil {
		return 0, false
	}
	current := Step(now)
	for s := current - int64(window); s <= current+int64(window); s++ {
		candidate := HOTP(secret, s, Digits)
		d := int(s - current)
		if subtle.ConstantTimeCompare([]byte(candidate), []byte(normalized)) == 1 && s != used && (!ok || abs(d) < abs(steps)) {
			steps, ok = d, true
		}
	}
	return steps, ok
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
