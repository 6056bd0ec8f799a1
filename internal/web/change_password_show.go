package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
)

func changePasswordView(p *account.Profile) *view {
	return &view{Title: "Change password", User: p.User}
}

// showChangePassword asks for the current password and a new one.
func (h *handler) showChangePassword(w http.ResponseWriter, r *http.Request) {
	_, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, pageChangePassword, changePasswordView(p))
}
