package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// updateMe saves the name and the mobile phone number.
func (h *handler) updateMe(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	name, phone := r.PostFormValue("name"), r.PostFormValue("mobile_phone")
	_, err := h.svc.UpdateProfile(r.Context(), sess, account.ProfileUpdate{Name: &name, MobilePhone: &phone}, httpauth.Client(r))
	if err != nil {
		v, verr := h.meView(r, sess, map[string]string{"name": name, "mobile_phone": phone})
		if verr != nil {
			h.fail(w, r, verr, recovery{})
			return
		}
		h.fail(w, r, err, recovery{page: pageMe, view: v})
		return
	}
	h.setFlash(w, flashSaved)
	redirect(w, r, "/me")
}
