package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// enableTwoFactor switches 2FA on when the code matches the pending secret.
// A wrong code shows the same page, with the same QR code, again.
func (h *handler) enableTwoFactor(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	err := h.svc.EnableTOTP(r.Context(), sess, r.PostFormValue("code"), httpauth.Client(r))
	if err != nil {
		rec := recovery{back: enablePath}
		if setup, serr := h.svc.PendingTOTPSetup(r.Context(), sess); serr == nil {
			if v, verr := h.enableView(p, setup); verr == nil {
				rec.page, rec.view = pageEnable, v
			}
		}
		h.fail(w, r, err, rec)
		return
	}
	if pendingReturn(r) != "" {
		h.afterSignIn(w, r, httpauth.Token(r)) // back to the app that asked for it
		return
	}
	h.setFlash(w, flashTwoFactorOn)
	redirect(w, r, "/me")
}
