package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// confirmPassword re-checks the password, then returns to next, which must
// be a path on this site.
func (h *handler) confirmPassword(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	next := safeNext(r.FormValue("next"))
	if err := h.svc.ConfirmPassword(r.Context(), sess, r.PostFormValue("password"), httpauth.Client(r)); err != nil {
		v := confirmView(next)
		v.User = p.User
		h.fail(w, r, err, recovery{page: pageConfirmPassword, view: v})
		return
	}
	redirect(w, r, next)
}
