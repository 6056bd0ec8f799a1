package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// signIn checks the password. The session id changes here (the previous
// token is ended), and again after the second step.
func (h *handler) signIn(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	v := &view{Title: "Sign in", Form: map[string]string{"email": email}}
	device := httpauth.DeviceToken(r)
	if id := pendingOIDC(r); id != "" && device != "" && h.svc.OIDCNeedsTypedCode(r.Context(), id) {
		device = "" // the app asked for the code typed now: the device does not skip it
	}
	res, err := h.svc.SignInWithDevice(r.Context(), account.SignInInput{
		Email:         email,
		Password:      r.PostFormValue("password"),
		PreviousToken: httpauth.Token(r),
		DeviceToken:   device,
	}, httpauth.Client(r))
	if err != nil {
		h.fail(w, r, err, recovery{page: pageSignIn, view: v})
		return
	}
	httpauth.SignedIn(w, res.Token, res.DeviceToken, res.DropDevice, res.DeviceLifetime, h.cookies)
	if res.Recovered {
		h.setFlash(w, flashRecovered)
		redirect(w, r, "/me/two-factor/enable")
		return
	}
	if res.Stage == account.StageSecondFactor {
		redirect(w, r, "/signin/two-factor")
		return
	}
	h.afterSignIn(w, r, res.Token)
}
