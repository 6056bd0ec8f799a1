// Package qrtest decodes QR code PNGs in tests with an independent decoder
// (gozxing, a port of ZXing), to prove an image carries exactly its URI.
package qrtest

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Reading is what the decoder found in a QR code.
type Reading struct {
	Text string
	// ErrorCorrection is the level in the code's format information:
	// "L", "M", "Q" or "H".
	ErrorCorrection string
}

// Decode returns the text of the QR code in the PNG, failing the test when
// there is none.
func Decode(t testing.TB, raw []byte) string {
	t.Helper()
	return Read(t, raw).Text
}

// Read decodes the QR code in the PNG, failing the test when there is none.
// It tells the decoder the image is a pure, unrotated code (which ours is):
// without that hint gozxing's finder-pattern search misreads about one
// random otpauth code in 200, which says nothing about the image.
func Read(t testing.TB, raw []byte) Reading {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("QR image is not a PNG: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("QR image: %v", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR decode: %v", err)
	}
	level, _ := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	return Reading{Text: res.GetText(), ErrorCorrection: level}
}
