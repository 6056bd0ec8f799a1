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
	_, ok := h.pendingSession(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, pageTwoFactor, h.twoFactorView(r.URL.Query().Get("method") == "backup"))
}

// pendingSession returns the half-signed-in session of the request, for
// the pages of the code step; without one it answers as the page would
// (to sign-in, or on to My info for a full session).
func (h *handler) pendingSession(w http.ResponseWriter, r *http.Request) (*account.Session, bool) {
	sess, err := h.svc.Session(r.Context(), httpauth.Token(r))
	if err != nil {
		h.fail(w, r, err, recovery{})
		return nil, false
	}
	if sess.Stage != account.StageSecondFactor {
		redirect(w, r, "/me")
		return nil, false
	}
	return sess, true
}

func (h *handler) twoFactorView(backup bool) *view {
	title := "Enter your code"
	if backup {
		title = "Use a backup code"
	}
	days := int(h.svc.Policy().RememberDevice / (24 * time.Hour))
	return &view{Title: title, Data: twoFactorData{Backup: backup, RememberDays: days}}
}
