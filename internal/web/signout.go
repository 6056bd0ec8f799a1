package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// signOut ends the session, fully or half signed in.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request) {
	err := h.svc.SignOut(r.Context(), httpauth.Token(r), httpauth.Client(r))
	// The browser forgets the session even if the server could not delete it.
	httpauth.ClearToken(w, h.secure)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.setFlash(w, flashSignedOut)
	redirect(w, r, "/signin")
}
