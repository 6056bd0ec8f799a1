package api

import (
	"encoding/base64"
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
	"github.com/twofold/twofold/internal/qr"
)

type setupResponse struct {
	Secret      string `json:"secret"` // base32, unpadded, for manual entry
	OTPAuthURI  string `json:"otpauth_uri"`
	QRPNGBase64 string `json:"qr_png_base64"` // standard base64 of a PNG encoding otpauth_uri
}

// setupTwoFactor starts enrollment: a new pending secret, as text, as an
// otpauth URI and as a QR code. 2FA stays off until enableTwoFactor.
func (h *handler) setupTwoFactor(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	setup, err := h.svc.BeginTOTPSetup(r.Context(), sess)
	if err != nil {
		return err
	}
	png, err := qr.PNG(setup.URI)
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, setupResponse{
		Secret:      setup.Secret,
		OTPAuthURI:  setup.URI,
		QRPNGBase64: base64.StdEncoding.EncodeToString(png),
	})
}

type enabledResponse struct {
	Enabled bool `json:"enabled"`
}

// enableTwoFactor switches 2FA on once a code proves the app has the secret.
func (h *handler) enableTwoFactor(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in codeRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.EnableTOTP(r.Context(), sess, in.Code, httpauth.Client(r)); err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, enabledResponse{Enabled: true})
}

type disableRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// disableTwoFactor switches 2FA off with the password and a current code
// or a backup code.
func (h *handler) disableTwoFactor(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in disableRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.DisableTOTP(r.Context(), sess, in.Password, in.Code, httpauth.Client(r)); err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, enabledResponse{Enabled: false})
}

type backupCodesResponse struct {
	Codes []string `json:"codes"`
}

// generateBackupCodes replaces every backup code with 10 new ones, shown
// only in this response.
func (h *handler) generateBackupCodes(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	if err := decodeEmptyBody(w, r); err != nil {
		return err
	}
	codes, err := h.svc.GenerateBackupCodes(r.Context(), sess, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusCreated, backupCodesResponse{Codes: codes})
}
