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
	h.render(w, r, http.StatusOK, pageSignUp, &view{Title: "Sign up"})
}
