package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
)

func disableView(p *account.Profile) *view {
	return &view{Title: "Disable 2 factor authentication", User: p.User}
}

// showDisableTwoFactor asks for the password and a code before switching
// 2FA off.
func (h *handler) showDisableTwoFactor(w http.ResponseWriter, r *http.Request) {
	_, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if !p.User.TwoFactorEnabled() {
		h.fail(w, r, account.ErrTwoFactorNotEnabled, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageDisable, disableView(p))
}
