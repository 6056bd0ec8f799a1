package totp

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B, the SHA-1 rows (8 digits, 30 s step, ASCII secret).
func TestHOTPRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, tt := range tests {
		got := HOTP(secret, Step(time.Unix(tt.unix, 0)), 8)
		if got != tt.want {
			t.Errorf("HOTP(T=%d) = %q; want %q", tt.unix, got, tt.want)
		}
	}
}

// RFC 4226 Appendix D: HOTP values for counters 0..9.
func TestHOTPRFC4226Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		if got := HOTP(secret, int64(counter), 6); got != w {
			t.Errorf("HOTP(counter=%d) = %q; want %q", counter, got, w)
		}
	}
}

func TestValidate(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	tests := []struct {
		name     string
		code     string
		skew     int
		lastUsed int64
		wantOK   bool
		wantStep int64
	}{
		{"current step", HOTP(secret, cur, 6), 1, 0, true, cur},
		{"previous step within skew", HOTP(secret, cur-1, 6), 1, 0, true, cur - 1},
		{"next step within skew", HOTP(secret, cur+1, 6), 1, 0, true, cur + 1},
		{"two steps back outside skew", HOTP(secret, cur-2, 6), 1, 0, false, 0},
		{"previous step with zero skew", HOTP(secret, cur-1, 6), 0, 0, false, 0},
		{"spaces ignored", HOTP(secret, cur, 6)[:3] + " " + HOTP(secret, cur, 6)[3:], 1, 0, true, cur},
		{"replay of the last used step", HOTP(secret, cur, 6), 1, cur, false, 0},
		{"earlier step after a later one was used", HOTP(secret, cur-1, 6), 1, cur, false, 0},
		{"later step after an earlier one was used", HOTP(secret, cur+1, 6), 1, cur, true, cur + 1},
		{"letters", "12a456", 1, 0, false, 0},
		{"too short", "12345", 1, 0, false, 0},
		{"empty", "", 1, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := Validate(secret, tt.code, now, tt.skew, tt.lastUsed)
			if ok != tt.wantOK || step != tt.wantStep {
				t.Errorf("Validate(%q, skew=%d, lastUsed=%d) = (%d, %v); want (%d, %v)", tt.code, tt.skew, tt.lastUsed, step, ok, tt.wantStep, tt.wantOK)
			}
		})
	}
}

func TestNormalizeCode(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"123456", "123456", false},
		{" 123 456 ", "123456", false},
		{"123-456", "123456", false},
		{"１２３４５６", "", true}, // full-width digits are not ASCII digits
		{"1234567", "", true},
		{"12345\x00", "", true},
	}
	for _, tt := range tests {
		got, err := NormalizeCode(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSecretRoundTrip(t *testing.T) {
	secret, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{0xAB}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 20 {
		t.Fatalf("len(secret) = %d; want 20", len(secret))
	}
	enc := EncodeSecret(secret)
	if strings.Contains(enc, "=") || len(enc) != 32 {
		t.Errorf("EncodeSecret = %q; want 32 base32 chars without padding", enc)
	}
	grouped := GroupSecret(secret)
	if len(strings.Fields(grouped)) != 8 {
		t.Errorf("GroupSecret = %q; want 8 groups of 4", grouped)
	}
	back, err := DecodeSecret(strings.ToLower(grouped))
	if err != nil || !bytes.Equal(back, secret) {
		t.Errorf("DecodeSecret(%q) = %x, %v; want %x", grouped, back, err, secret)
	}
	if _, err := NewSecret(bytes.NewReader(nil)); err == nil {
		t.Error("NewSecret on an empty reader succeeded; want an error")
	}
}

func TestURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		issuer, account string
		wantLabel       string
		wantIssuer      string
	}{
		{"twofold", "ana@example.com", "twofold:ana@example.com", "twofold"},
		{"Acme Clinic", "ana@example.com", "Acme Clinic:ana@example.com", "Acme Clinic"},
		{"Bad:Issuer", "x@y.z", "Bad Issuer:x@y.z", "Bad Issuer"},
		{"100% ünïcode", "a/b?c#d@e.f", "100% ünïcode:a/b?c#d@e.f", "100% ünïcode"},
	}
	for _, tt := range tests {
		raw := URI(tt.issuer, tt.account, secret)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("URI(%q, %q) = %q does not parse: %v", tt.issuer, tt.account, raw, err)
		}
		if u.Scheme != "otpauth" || u.Host != "totp" {
			t.Errorf("URI(%q) scheme/host = %q/%q; want otpauth/totp", tt.issuer, u.Scheme, u.Host)
		}
		if label := strings.TrimPrefix(u.Path, "/"); label != tt.wantLabel {
			t.Errorf("URI(%q, %q) label = %q; want %q", tt.issuer, tt.account, label, tt.wantLabel)
		}
		q := u.Query()
		if q.Get("issuer") != tt.wantIssuer || q.Get("secret") != EncodeSecret(secret) || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
			t.Errorf("URI(%q) query = %v", tt.issuer, q)
		}
	}
}

func TestDrift(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	tests := []struct {
		name      string
		code      string
		used      int64
		wantOK    bool
		wantSteps int
	}{
		{"3 minutes behind", HOTP(secret, cur-6, 6), 0, true, -6},
		{"2 minutes ahead", HOTP(secret, cur+4, 6), 0, true, 4},
		{"at the edge of the window", HOTP(secret, cur-20, 6), 0, true, -20},
		{"beyond the window", HOTP(secret, cur-21, 6), 0, false, 0},
		{"the current step", HOTP(secret, cur, 6), 0, true, 0},
		{"the step used last", HOTP(secret, cur-6, 6), cur - 6, false, 0},
		{"a step before the one used last", HOTP(secret, cur-6, 6), cur - 1, true, -6},
		{"not a code", "12a456", 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, ok := Drift(secret, tt.code, now, 20, tt.used)
			if ok != tt.wantOK || steps != tt.wantSteps {
				t.Errorf("Drift(%q, window 20, used=%d) = (%d, %v); want (%d, %v)", tt.code, tt.used, steps, ok, tt.wantSteps, tt.wantOK)
			}
		})
	}
	// A code no nearby step has: 000000 to 000009, whichever none of the
	// 41 steps' codes is.
	near := map[string]bool{}
	for s := cur - 20; s <= cur+20; s++ {
		near[HOTP(secret, s, 6)] = true
	}
	for _, c := range []string{"000000", "000001", "000002"} {
		if !near[c] {
			if steps, ok := Drift(secret, c, now, 20, 0); ok {
				t.Errorf("Drift(%q) = %d steps; want no match", c, steps)
			}
			break
		}
	}
}
