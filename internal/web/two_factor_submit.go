package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// submitTwoFactor completes sign-in with an app code or a backup code; the
// service accepts either in the one field and replaces the session.
func (h *handler) submitTwoFactor(w http.ResponseWriter, r *http.Request) {
	backup := r.PostFormValue("method") == "backup"
	res, err := h.svc.VerifySecondFactor(r.Context(), httpauth.Token(r), account.SecondFactorInput{
		Code:           r.PostFormValue("code"),
		RememberDevice: r.PostFormValue("remember_device") != "",
	}, httpauth.Client(r))
	if err != nil {
		rec := recovery{page: pageTwoFactor, view: h.twoFactorView(backup)}
		rec.view.Form = map[string]string{"remember_device": r.PostFormValue("remember_device")}
		if backup {
			rec.wrongCode = msgWrongBackupCode
		}
		h.fail(w, r, err, rec)
		return
	}
	httpauth.SignedIn(w, res.Token, res.DeviceToken, false, res.DeviceLifetime, h.cookies)
	h.afterSignIn(w, r, res.Token)
}
