package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/qr"
)

const enablePath = "/me/two-factor/enable"

// enableData is the data of the setup page.
type enableData struct {
	Setup  *account.TOTPSetup
	QR     template.URL // data:image/png;base64,... of the otpauth URI
	QRSize int          // its width and height in pixels
	Email  string
	Issuer string // the name the authenticator app shows
}

// showEnableTwoFactor shows the QR code, the key for manual entry and the
// verification code field. The secret stays pending until a code proves the
// app holds it; coming back to the page shows the same one.
func (h *handler) showEnableTwoFactor(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	setup, err := h.svc.PendingTOTPSetup(r.Context(), sess)
	if errors.Is(err, account.ErrNoPendingSetup) {
		setup, err = h.svc.BeginTOTPSetup(r.Context(), sess)
	}
	if err != nil {
		h.fail(w, r, err, recovery{back: enablePath})
		return
	}
	v, err := h.enableView(p, setup)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageEnable, v)
}

func (h *handler) enableView(p *account.Profile, setup *account.TOTPSetup) (*view, error) {
	img, err := qr.PNG(setup.URI)
	if err != nil {
		return nil, err
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return nil, fmt.Errorf("web: qr png: %w", err)
	}
	return &view{Title: "Enable 2 factor authentication", User: p.User, Data: enableData{
		Setup: setup,
		// Built here from our own PNG bytes, so it is safe to mark as a URL
		// (html/template would otherwise refuse the data: scheme).
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(img)),
		QRSize: cfg.Width,
		Email:  p.User.Email,
		Issuer: h.issuer,
	}}, nil
}
