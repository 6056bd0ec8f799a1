package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// showSignIn shows the password step. A half-signed-in session may start
// over here; a fully signed-in one goes to My info.
func (h *handler) showSignIn(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.Authenticate(r.Context(), httpauth.Token(r)); err == nil {
		redirect(w, r, "/me")
		return
	}
	h.render(w, r, http.StatusOK, pageSignIn, &view{Title: "Sign in"})
}
