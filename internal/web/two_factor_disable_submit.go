package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// disableTwoFactor switches 2FA off with the password and an app code or a
// backup code.
func (h *handler) disableTwoFactor(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	err := h.svc.DisableTOTP(r.Context(), sess, r.PostFormValue("password"), r.PostFormValue("code"), httpauth.Client(r))
	if err != nil {
		h.fail(w, r, err, recovery{page: pageDisable, view: disableView(p), wrongCode: msgWrongEitherCode})
		return
	}
	h.setFlash(w, flashTwoFactorOff)
	redirect(w, r, "/me")
}
