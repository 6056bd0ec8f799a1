package qr_test

import (
	"bytes"
	"crypto/rand"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/twofold/twofold/internal/qr"
	"github.com/twofold/twofold/internal/qr/qrtest"
	"github.com/twofold/twofold/internal/totp"
)

// testURIs are hostile names and many random secrets: the URI's content
// changes the QR version and mask.
func testURIs(t *testing.T) []string {
	t.Helper()
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
	return uris
}

// The image decodes, with an independent decoder, back to exactly the URI,
// at medium error correction.
func TestPNGDecodesToContent(t *testing.T) {
	for _, uri := range testURIs(t) {
		raw, err := qr.PNG(uri)
		if err != nil {
			t.Fatal(err)
		}
		got := qrtest.Read(t, raw)
		if got.Text != uri {
			t.Errorf("decoded %q; want %q", got.Text, uri)
		}
		if got.ErrorCorrection != "M" {
			t.Errorf("%q: error correction %q; want M (medium)", uri, got.ErrorCorrection)
		}
	}
}

// Every module is ModulePixels × ModulePixels pixels of pure black or pure
// white, the code is square with a size a QR version has (17 + 4v
// modules), and QuietZone modules of white surround it.
func TestPNGModulesAreWholePixels(t *testing.T) {
	for _, uri := range testURIs(t)[:5] {
		raw, err := qr.PNG(uri)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if b.Min != (image.Point{}) || b.Dx() != b.Dy() || b.Dx()%qr.ModulePixels != 0 {
			t.Fatalf("image bounds %v; want a square of whole %d-pixel modules", b, qr.ModulePixels)
		}
		side := b.Dx() / qr.ModulePixels
		n := side - 2*qr.QuietZone
		if n < 21 || (n-17)%4 != 0 {
			t.Fatalf("%d modules across, %d without the quiet zone; want 17 + 4v", side, n)
		}
		dark := func(x, y int) bool {
			r, g, bl, _ := img.At(x, y).RGBA()
			switch {
			case r == 0 && g == 0 && bl == 0:
				return true
			case r == 0xffff && g == 0xffff && bl == 0xffff:
				return false
			}
			t.Fatalf("pixel (%d, %d) is %v; want pure black or white", x, y, img.At(x, y))
			return false
		}
		for my := range side {
			for mx := range side {
				want := dark(mx*qr.ModulePixels, my*qr.ModulePixels)
				inQuiet := mx < qr.QuietZone || my < qr.QuietZone || mx >= side-qr.QuietZone || my >= side-qr.QuietZone
				if inQuiet && want {
					t.Fatalf("module (%d, %d) in the quiet zone is dark", mx, my)
				}
				for py := range qr.ModulePixels {
					for px := range qr.ModulePixels {
						if dark(mx*qr.ModulePixels+px, my*qr.ModulePixels+py) != want {
							t.Fatalf("module (%d, %d) is not one colour: pixel (%d, %d) differs", mx, my, px, py)
						}
					}
				}
			}
		}
		// The top-left finder pattern starts right after the quiet zone.
		if !dark(qr.QuietZone*qr.ModulePixels, qr.QuietZone*qr.ModulePixels) {
			t.Errorf("the first module after the quiet zone is white; want the finder pattern's dark corner")
		}
	}
}

// With the encoder's debug switch in the environment, encoding is refused:
// it would log the secret and save pictures of it in ./draft/.
func TestPNGRefusesEncoderDebugMode(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("QRCODE_DEBUG", "1")
	if raw, err := qr.PNG("otpauth://totp/twofold:ana%40example.com?secret=JBSWY3DPEHPK3PXP"); err == nil {
		t.Fatalf("PNG with QRCODE_DEBUG=1 = %d bytes, nil; want an error", len(raw))
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("PNG left %v in the working directory; want nothing", entries)
	}
	if _, err := os.Stat(filepath.Join(".", "draft")); err == nil {
		t.Error("PNG created ./draft")
	}
}
