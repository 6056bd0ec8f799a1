package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// confirmSignUp finishes a sign-up with the link's token and the password
// chosen at sign-up, creates the account and signs it in.
func (h *handler) confirmSignUp(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// A session this browser held before (another account) ends with it.
	in := account.ConfirmSignUpInput{Token: r.PostFormValue("token"), Password: r.PostFormValue("password"), PreviousToken: httpauth.Token(r)}
	// Looked up first for the page to show again after a wrong password.
	p, err := h.svc.PendingSignUp(r.Context(), in.Token)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	_, token, err := h.svc.ConfirmSignUp(r.Context(), in, httpauth.Client(r))
	if err != nil {
		// Nobody is signed in yet: a wrong password is like a wrong sign-in (401).
		h.fail(w, r, err, recovery{page: pageSignUpConfirm, view: signUpConfirmView(p, in.Token),
			wrongPassword: &fieldProblem{http.StatusUnauthorized, "password", msgWrongSignUpPassword}})
		return
	}
	httpauth.SetToken(w, token, h.cookies)
	h.setFlash(w, flashWelcome)
	redirect(w, r, "/me")
}
