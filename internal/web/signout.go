package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// signOut ends the session, fully or half signed in. From an app's
// sign-out page (rd, allowed by SafeRedirect) it returns to the app.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request) {
	rd := r.PostFormValue("rd")
	h.forgetReturn(w, r)
	err := h.svc.SignOut(r.Context(), httpauth.Token(r), httpauth.Client(r))
	// The browser forgets the session even if the server could not delete it.
	httpauth.ClearToken(w, h.cookies)
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	if target, ok := h.svc.SafeRedirect(r.Context(), rd); ok {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	h.setFlash(w, flashSignedOut)
	redirect(w, r, "/signin")
}
