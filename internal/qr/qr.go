// Package qr renders the otpauth URI as a QR code image for the setup page
// and the API. The encoding (versions, error correction, masks) is
// github.com/yeqown/go-qrcode/v2's; this package draws its modules into a
// PNG itself with image/png, so that every module is a whole number of
// pixels and no drawing library is needed.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// ModulePixels is the size of one QR module (dot) in pixels. Whole pixels
// per module keep every edge crisp, which scanners (and decoders in tests)
// need; a fixed image size would scale modules unevenly. An otpauth URI
// gives a 45 to 57-module code, so the image is about 400 to 520 pixels:
// large enough to scan from a phone held at arm's length.
const ModulePixels = 8

// QuietZone is the blank margin around the code, in modules: the 4 that
// the QR code standard asks for, so a scanner finds the code's edges.
const QuietZone = 4

// debugEnv is the variable that switches the encoder's debug mode on: it
// then logs the encoded data and writes images of the code to ./draft/,
// and for a setup page the data is the TOTP secret.
const debugEnv = "QRCODE_DEBUG"

// PNG encodes content as a QR code PNG with medium error correction.
func PNG(content string) ([]byte, error) {
	if os.Getenv(debugEnv) != "" {
		return nil, errors.New("qr: " + debugEnv + " is set, which makes the QR encoder log the secrets it encodes and save them as images: unset it")
	}
	code, err := qrcode.NewWith(content,
		qrcode.WithEncodingMode(qrcode.EncModeByte),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qr: encode: %w", err)
	}
	var m modules
	if err := code.Save(&m); err != nil {
		return nil, fmt.Errorf("qr: encode: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m.image()); err != nil {
		return nil, fmt.Errorf("qr: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// modules is a qrcode.Writer that keeps the finished matrix, row by row:
// dark[y][x] is true for a dark module.
type modules struct {
	dark [][]bool
}

func (m *modules) Write(mat qrcode.Matrix) error {
	m.dark = mat.Bitmap()
	for _, row := range m.dark {
		if len(row) != len(m.dark) {
			return fmt.Errorf("qr: the encoder gave a %d-row matrix with a %d-module row; want a square", len(m.dark), len(row))
		}
	}
	if len(m.dark) == 0 {
		return errors.New("qr: the encoder gave an empty matrix")
	}
	return nil
}

func (m *modules) Close() error { return nil }

// image draws the modules black on white with the quiet zone around them,
// ModulePixels by ModulePixels each, in a two-colour palette (a 1-bit PNG).
func (m *modules) image() *image.Paletted {
	n := len(m.dark)
	side := (n + 2*QuietZone) * ModulePixels
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	// Index 0 is white, so the new image is blank; only dark modules are drawn.
	for y, row := range m.dark {
		for x, dark := range row {
			if !dark {
				continue
			}
			top, left := (y+QuietZone)*ModulePixels, (x+QuietZone)*ModulePixels
			for py := top; py < top+ModulePixels; py++ {
				line := img.Pix[py*img.Stride+left : py*img.Stride+left+ModulePixels]
				for i := range line {
					line[i] = 1
				}
			}
		}
	}
	return img
}
