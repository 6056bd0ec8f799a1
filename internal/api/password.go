package api

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword replaces the password when the current one is right. The
// service ends every other session of the account; this one stays signed
// in (its cookie does not change) and counts as recently authenticated.
func (h *handler) changePassword(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in changePasswordRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(r.Context(), sess, in.CurrentPassword, in.NewPassword, httpauth.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
