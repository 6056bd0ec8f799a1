package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// submitTwoFactor completes sign-in with an app code or a backup code; the
// service accepts either in the one field and replaces the session.
func (h *handler) submitTwoFactor(w http.ResponseWriter, r *http.Request) {
	backup := r.PostFormValue("method") == "backup"
	token, err := h.svc.SubmitSecondFactor(r.Context(), httpauth.Token(r), r.PostFormValue("code"), httpauth.Client(r))
	if err != nil {
		rec := recovery{page: pageTwoFactor, view: twoFactorView(backup)}
		if backup {
			rec.wrongCode = msgWrongBackupCode
		}
		h.fail(w, r, err, rec)
		return
	}
	httpauth.SetToken(w, token, h.cookies)
	h.afterSignIn(w, r, token)
}
