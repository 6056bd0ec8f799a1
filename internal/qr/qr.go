// Package qr renders the otpauth URI as a QR code image for the setup page
// and the API.
package qr

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// ModulePixels is the size of one QR module (dot) in pixels. Whole pixels
// per module keep every edge crisp, which scanners (and decoders in tests)
// need; a fixed image size would scale modules unevenly. An otpauth URI
// gives a 45 to 57-module code, so the image is about 400 to 520 pixels:
// large enough to scan from a phone held at arm's length.
const ModulePixels = 8

// PNG encodes content as a QR code PNG with medium error correction.
func PNG(content string) ([]byte, error) {
	code, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr: encode: %w", err)
	}
	png, err := code.PNG(-ModulePixels)
	if err != nil {
		return nil, fmt.Errorf("qr: encode png: %w", err)
	}
	return png, nil
}
