package qr_test

import (
	"crypto/rand"
	"testing"

	"github.com/twofold/twofold/internal/qr"
	"github.com/twofold/twofold/internal/qr/qrtest"
	"github.com/twofold/twofold/internal/totp"
)

// The image decodes, with an independent decoder, back to exactly the URI,
// for hostile names and for many random secrets (the URI's content changes
// the QR version and mask).
func TestPNGDecodesToContent(t *testing.T) {
	uris := []string{
		"otpauth://totp/twofold:ana%40example.com?algorithm=SHA1&digits=6&issuer=twofold&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"otpauth://totp/Acme%20Clinic:%C3%BC%40example.com?issuer=Acme+Clinic&secret=JBSWY3DPEHPK3PXP",
	}
	for range 40 {
		secret, err := totp.NewSecret(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		uris = append(uris, totp.URI("twofold", "someone.with.a.long.name@clinic.example.com", secret))
	}
	for _, uri := range uris {
		raw, err := qr.PNG(uri)
		if err != nil {
			t.Fatal(err)
		}
		if got := qrtest.Decode(t, raw); got != uri {
			t.Errorf("decoded %q; want %q", got, uri)
		}
	}
}
