package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
)

// signUpConfirmData is the data of the page that finishes a sign-up.
type signUpConfirmData struct {
	Email string
}

// signUpConfirmView is the page that finishes the sign-up p, carrying the
// link's token in a hidden field so that it leaves the address bar for the
// body of the post. The token is opaque here: passed on, never logged.
func signUpConfirmView(p *account.PendingSignUp, token string) *view {
	return &view{Title: "Finish signing up", Form: map[string]string{"token": token}, Data: signUpConfirmData{Email: p.Email}}
}

// showSignUpConfirm is where a mailed sign-up link lands: it asks for the
// password chosen at sign-up. An unknown, used or expired link gets the
// 410 page (errors.go).
func (h *handler) showSignUpConfirm(w http.ResponseWriter, r *http.Request) {
	// The page holds the token: never kept by a cache.
	w.Header().Set("Cache-Control", "no-store")
	token := r.URL.Query().Get("token")
	p, err := h.svc.PendingSignUp(r.Context(), token)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageSignUpConfirm, signUpConfirmView(p, token))
}
