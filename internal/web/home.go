package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// showHome sends a signed-in user to My info and anyone else to sign-in.
func (h *handler) showHome(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.Authenticate(r.Context(), httpauth.Token(r)); err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	redirect(w, r, "/me")
}
