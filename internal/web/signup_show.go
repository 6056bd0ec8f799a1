package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

func (h *handler) showSignUp(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.Authenticate(r.Context(), httpauth.Token(r)); err == nil {
		redirect(w, r, "/me")
		return
	}
	h.render(w, r, http.StatusOK, pageSignUp, &view{Title: "Sign up", Data: signUpData{InviteOnly: !h.svc.Policy().OpenSignUp}})
}

// signUpData is the data of the sign-up page: with sign-up by invitation
// it explains that instead of showing the form.
type signUpData struct {
	InviteOnly bool
}
