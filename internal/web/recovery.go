package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// recoveryData is the data of the self-recovery pages.
type recoveryData struct {
	Hours       int       // the delay
	CodeSent    bool      // the text went out: ask for its code
	EffectiveAt time.Time // set once the recovery started
	Token       string    // the cancel link's token, on its confirmation page
	Cancelled   bool
}

// lostPhoneView is the "Lost your phone?" page of a half-signed-in
// session, with self-recovery when the server allows it for the account.
func (h *handler) lostPhoneView(r *http.Request, sess *account.Session, form map[string]string) *view {
	hours := sess.Profile.Settings.RecoveryDelayHours
	data := lostPhoneData{}
	if hours > 0 && h.svc.Policy().TextMessages && sess.Profile.User.MobilePhone != "" {
		data.RecoveryHours = hours
		if rec, err := h.svc.PendingRecoveryOf(r.Context(), sess.UserID); err == nil {
			data.RecoveryPending = rec.EffectiveAt
		}
	}
	return &view{Title: "Lost your phone?", Data: data, Form: form}
}

// sendRecoveryCode texts the code that starts a self-recovery.
func (h *handler) sendRecoveryCode(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.SendRecoveryCode(r.Context(), httpauth.Token(r), httpauth.Client(r)); err != nil {
		h.recoveryFailed(w, r, nil, err)
		return
	}
	redirect(w, r, "/signin/recovery")
}

// showRecovery asks for the texted code.
func (h *handler) showRecovery(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.pendingSession(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, pageRecovery, &view{Title: "Recover your account", Data: recoveryData{
		Hours: sess.Profile.Settings.RecoveryDelayHours, CodeSent: true,
	}})
}

// startRecovery starts the self-recovery with the texted code.
func (h *handler) startRecovery(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("sms_code")
	rec, err := h.svc.StartRecovery(r.Context(), httpauth.Token(r), code, httpauth.Client(r))
	if err != nil {
		h.recoveryFailed(w, r, map[string]string{"sms_code": code}, err)
		return
	}
	h.render(w, r, http.StatusOK, pageRecovery, &view{Title: "Recovery started", Data: recoveryData{EffectiveAt: rec.EffectiveAt}})
}

// recoveryFailed shows the code page again with what went wrong.
func (h *handler) recoveryFailed(w http.ResponseWriter, r *http.Request, form map[string]string, err error) {
	sess, serr := h.svc.Session(r.Context(), httpauth.Token(r))
	if serr != nil || sess.Stage != account.StageSecondFactor {
		h.fail(w, r, err, recovery{})
		return
	}
	v := &view{Title: "Recover your account", Form: form, Data: recoveryData{Hours: sess.Profile.Settings.RecoveryDelayHours, CodeSent: true}}
	problem := func(status int, field, msg string) {
		if field == "" {
			v.Message = msg
		} else {
			v.Errors = map[string]string{field: msg}
		}
		h.render(w, r, status, pageRecovery, v)
	}
	var invalid *account.ValidationError
	switch {
	case errors.As(err, &invalid):
		problem(http.StatusUnprocessableEntity, "sms_code", invalid.Fields["sms_code"])
	case errors.Is(err, account.ErrPhoneCodeSpent):
		v.Data = recoveryData{Hours: sess.Profile.Settings.RecoveryDelayHours}
		problem(http.StatusGone, "", "That code expired or was tried 5 times. Send a new one.")
	case errors.Is(err, account.ErrInvalidCode):
		problem(http.StatusUnprocessableEntity, "sms_code", "That is not the code of the text message. Check it and type it again.")
	case errors.Is(err, account.ErrRecoveryPending):
		rec, _ := h.svc.PendingRecoveryOf(r.Context(), sess.UserID)
		if rec != nil {
			h.render(w, r, http.StatusConflict, pageRecovery, &view{Title: "Recovery started", Data: recoveryData{EffectiveAt: rec.EffectiveAt}})
			return
		}
		problem(http.StatusConflict, "", "A recovery of this account is already waiting.")
	case errors.Is(err, account.ErrRecoveryDisabled), errors.Is(err, account.ErrTextsUnavailable), errors.Is(err, account.ErrNoMobilePhone):
		problem(http.StatusConflict, "", "This account cannot recover itself on this server. Use a backup code, or ask an administrator for help.")
	default:
		h.fail(w, r, err, recovery{page: pageRecovery, view: v})
	}
}

// showCancelRecovery is where the emailed cancel link lands: a page that
// asks to confirm (no change on GET).
func (h *handler) showCancelRecovery(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, pageRecovery, &view{Title: "Cancel this recovery", Data: recoveryData{Token: r.URL.Query().Get("token")}})
}

// cancelRecovery cancels the recovery of the emailed link.
func (h *handler) cancelRecovery(w http.ResponseWriter, r *http.Request) {
	err := h.svc.CancelRecoveryByLink(r.Context(), r.PostFormValue("token"), httpauth.Client(r))
	switch {
	case errors.Is(err, account.ErrRecoveryNotFound):
		h.render(w, r, http.StatusGone, pageMessage, &view{Title: "No recovery to cancel", Data: message{
			Heading: "No recovery to cancel",
			Text:    "This recovery was already cancelled or completed, or the link is not right. If 2 factor authentication was turned off without you, sign in and change your password, then contact your administrator.",
			Links:   []link{{Href: "/signin", Label: "Sign in"}},
		}})
	case err != nil:
		h.fail(w, r, err, recovery{})
	default:
		h.render(w, r, http.StatusOK, pageRecovery, &view{Title: "The recovery is cancelled", Data: recoveryData{Cancelled: true}})
	}
}

// cancelOwnRecovery cancels the signed-in user's pending recovery, from My info.
func (h *handler) cancelOwnRecovery(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if err := h.svc.CancelOwnRecovery(r.Context(), sess, httpauth.Client(r)); err != nil && !errors.Is(err, account.ErrRecoveryNotFound) {
		h.fail(w, r, err, recovery{})
		return
	}
	h.setFlash(w, flashRecoveryCancelled)
	redirect(w, r, "/me")
}

// cancelUserRecovery cancels an account's pending recovery, for administrators.
func (h *handler) cancelUserRecovery(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	if err := h.svc.CancelRecoveryFor(r.Context(), sess, id, httpauth.Client(r)); err != nil && !errors.Is(err, account.ErrRecoveryNotFound) {
		h.resetFailed(w, r, sess, p, id, nil, err)
		return
	}
	h.setFlash(w, flashRecoveryCancelled)
	redirect(w, r, resetPath(id))
}
