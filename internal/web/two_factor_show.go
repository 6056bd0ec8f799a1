package web

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// twoFactorData is the data of the code step of sign-in.
type twoFactorData struct {
	Backup bool // ask for a backup code instead of an app code
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
	h.render(w, r, http.StatusOK, pageTwoFactor, twoFactorView(r.URL.Query().Get("method") == "backup"))
}

func twoFactorView(backup bool) *view {
	title := "Enter your code"
	if backup {
		title = "Use a backup code"
	}
	return &view{Title: title, Data: twoFactorData{Backup: backup}}
}
