package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/httpauth"
)

// changePassword replaces the password when the current one is right. The
// account service ends every other session of the account; this one stays.
func (h *handler) changePassword(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	err := h.svc.ChangePassword(r.Context(), sess, r.PostFormValue("current_password"), r.PostFormValue("new_password"), httpauth.Client(r))
	if err != nil {
		h.fail(w, r, err, recovery{page: pageChangePassword, view: changePasswordView(p),
			wrongPassword: &fieldProblem{http.StatusUnprocessableEntity, "current_password", msgWrongCurrentPassword}})
		return
	}
	h.setFlash(w, flashPasswordChanged)
	redirect(w, r, "/me")
}
