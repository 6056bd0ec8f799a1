// Package qr renders the otpauth URI as a QR code image for the setup page
// and the API.
package qr

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// Size is the PNG's width and height in pixels: large enough to scan from a
// phone held at arm's length on a laptop screen.
const Size = 320

// PNG encodes content as a QR code PNG with medium error correction.
func PNG(content string) ([]byte, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, Size)
	if err != nil {
		return nil, fmt.Errorf("qr: encode: %w", err)
	}
	return png, nil
}
