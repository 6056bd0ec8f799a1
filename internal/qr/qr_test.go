package qr

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// The image decodes, with an independent decoder, back to exactly the URI.
func TestPNGDecodesToContent(t *testing.T) {
	for _, uri := range []string{
		"otpauth://totp/twofold:ana%40example.com?algorithm=SHA1&digits=6&issuer=twofold&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"otpauth://totp/Acme%20Clinic:%C3%BC%40example.com?issuer=Acme+Clinic&secret=JBSWY3DPEHPK3PXP",
	} {
		raw, err := PNG(uri)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("PNG output does not decode as PNG: %v", err)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("QR decode: %v", err)
		}
		if res.GetText() != uri {
			t.Errorf("decoded %q; want %q", res.GetText(), uri)
		}
	}
}
