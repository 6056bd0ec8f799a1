package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// showSignOut is where an app's "sign out" link lands (/signout?rd=…): a
// page with a button that posts the sign-out, since a GET changes nothing.
func (h *handler) showSignOut(w http.ResponseWriter, r *http.Request) {
	rd := r.URL.Query().Get("rd")
	if _, ok := h.svc.SafeRedirect(r.Context(), rd); !ok {
		rd = ""
	}
	v := &view{Title: "Sign out", Form: map[string]string{"rd": rd}}
	if sess, err := h.svc.Session(r.Context(), httpauth.Token(r)); err == nil && sess.Profile != nil {
		v.Data = sess.Profile.User.Email
	}
	h.render(w, r, http.StatusOK, pageSignOut, v)
}
