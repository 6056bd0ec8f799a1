package web

import (
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// lostPhoneData is the data of the "Lost your phone?" page of the code step.
type lostPhoneData struct {
	Sent bool // the request went to the administrators
	// RecoveryHours is the self-recovery delay when the account may
	// recover itself (0 otherwise); RecoveryPending when one waits.
	RecoveryHours   int
	RecoveryPending time.Time
}

// showLostPhone explains what a half-signed-in person who lost their phone
// can do: a backup code, or asking an administrator.
func (h *handler) showLostPhone(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.pendingSession(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, pageLostPhone, h.lostPhoneView(r, sess, nil))
}

// requestHelp sends the person's help request to the administrators.
func (h *handler) requestHelp(w http.ResponseWriter, r *http.Request) {
	message := r.PostFormValue("message")
	err := h.svc.RequestHelp(r.Context(), httpauth.Token(r), message, httpauth.Client(r))
	if err != nil {
		v := &view{Title: "Lost your phone?", Data: lostPhoneData{}, Form: map[string]string{"message": message}}
		if sess, serr := h.svc.Session(r.Context(), httpauth.Token(r)); serr == nil && sess.Stage == account.StageSecondFactor {
			v = h.lostPhoneView(r, sess, v.Form)
		}
		h.fail(w, r, err, recovery{page: pageLostPhone, view: v})
		return
	}
	h.render(w, r, http.StatusOK, pageLostPhone, &view{Title: "Your request was sent", Data: lostPhoneData{Sent: true}})
}
