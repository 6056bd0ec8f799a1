package web

import (
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// twoFactorData is the data of the code step of sign-in.
type twoFactorData struct {
	Backup bool // ask for a backup code instead of an app code
	// RememberDays is how long "Remember this device" skips this step;
	// 0 hides the checkbox.
	RememberDays int
}

// showTwoFactor asks a half-signed-in session for its code.
func (h *handler) showTwoFactor(w http.ResponseWriter, r *http.Request) {
	sess, err := h.svc.Session(r.Context(), httpauth.Token(r))
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	if sess.Stage != account.StageSecondFactor {
		redirect(w, r, "/me")
		return
	}
	h.render(w, r, http.StatusOK, pageTwoFactor, h.twoFactorView(r.URL.Query().Get("method") == "backup"))
}

func (h *handler) twoFactorView(backup bool) *view {
	title := "Enter your code"
	if backup {
		title = "Use a backup code"
	}
	days := int(h.svc.Policy().RememberDevice / (24 * time.Hour))
	return &view{Title: title, Data: twoFactorData{Backup: backup, RememberDays: days}}
}
