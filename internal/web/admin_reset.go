package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

// resetUserData is the data of the page where an administrator checks
// that a person who lost their phone is who they say, then resets 2FA.
type resetUserData struct {
	Target *account.UserSummary
	Help   []*account.HelpRequest // the account's open help requests
	// Texts says whether the server can text a code at all.
	Texts bool
	// CodeSent is when the newest code was texted, while it can still be
	// checked; VerifiedAt when the right one was read back, while a reset
	// may rely on it (until VerifiedUntil).
	CodeSent      time.Time
	CodeExpires   time.Time
	VerifiedAt    time.Time
	VerifiedUntil time.Time
	// RecoveryPending is when the account's own recovery completes, while
	// one waits.
	RecoveryPending time.Time
}

func resetPath(id int64) string {
	return usersPath + "/" + strconv.FormatInt(id, 10) + "/reset-two-factor"
}

// showResetUser is the lost-phone page of one account, for administrators.
func (h *handler) showResetUser(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	v, err := h.resetUserView(r, sess, p, id, nil)
	if err != nil {
		h.resetFailed(w, r, sess, p, id, nil, err)
		return
	}
	h.render(w, r, http.StatusOK, pageResetUser, v)
}

func (h *handler) resetUserView(r *http.Request, sess *account.Session, p *account.Profile, id int64, form map[string]string) (*view, error) {
	all, err := h.svc.AdminUsers(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	var target *account.UserSummary
	for _, u := range all {
		if u.User.ID == id {
			target = u
		}
	}
	if target == nil {
		return nil, account.ErrNotFound
	}
	help, err := h.svc.HelpRequests(r.Context(), sess)
	if err != nil {
		return nil, err
	}
	data := &resetUserData{Target: target, Texts: h.svc.Policy().TextMessages}
	for _, q := range help {
		if q.UserID == id {
			data.Help = append(data.Help, q)
		}
	}
	if rec, err := h.svc.PendingRecoveryOf(r.Context(), id); err == nil {
		data.RecoveryPending = rec.EffectiveAt
	} else if !errors.Is(err, account.ErrRecoveryNotFound) {
		return nil, err
	}
	verifiedAt, latest, err := h.svc.PhoneVerifiedAt(r.Context(), sess, id)
	if err != nil {
		return nil, err
	}
	now := h.svc.Now()
	switch {
	case !verifiedAt.IsZero():
		data.VerifiedAt, data.VerifiedUntil = verifiedAt, verifiedAt.Add(account.PhoneVerifiedFor)
	case latest != nil && latest.VerifiedAt.IsZero() && now.Before(latest.ExpiresAt) && latest.Failures < 5:
		data.CodeSent, data.CodeExpires = latest.CreatedAt, latest.ExpiresAt
	}
	return &view{Title: "Reset 2FA for " + target.User.Name, User: p.User, Form: form, Data: data}, nil
}

// sendVerificationFromPage texts a code to the account's number on file.
func (h *handler) sendVerificationFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	if _, err := h.svc.SendPhoneVerification(r.Context(), sess, id, httpauth.Client(r)); err != nil {
		h.resetFailed(w, r, sess, p, id, nil, err)
		return
	}
	h.setFlash(w, flashCodeTexted)
	redirect(w, r, resetPath(id))
}

// checkVerificationFromPage checks the code the person read back.
func (h *handler) checkVerificationFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	code := r.PostFormValue("code")
	if err := h.svc.CheckPhoneVerification(r.Context(), sess, id, code, httpauth.Client(r)); err != nil {
		h.resetFailed(w, r, sess, p, id, map[string]string{"code": code}, err)
		return
	}
	h.setFlash(w, flashPhoneVerified)
	redirect(w, r, resetPath(id))
}

// resetFailed shows the lost-phone page again with what went wrong, next
// to the field it is about.
func (h *handler) resetFailed(w http.ResponseWriter, r *http.Request, sess *account.Session, p *account.Profile, id int64, form map[string]string, err error) {
	v, verr := h.resetUserView(r, sess, p, id, form)
	if verr != nil {
		if errors.Is(verr, account.ErrNotFound) {
			h.notFound(w, r)
			return
		}
		h.fail(w, r, verr, recovery{back: usersPath})
		return
	}
	var invalid *account.ValidationError
	var throttled *account.ThrottledError
	problem := func(status int, field, msg string) {
		if field == "" {
			v.Message = msg
		} else {
			v.Errors = map[string]string{field: msg}
		}
		h.render(w, r, status, pageResetUser, v)
	}
	switch {
	case errors.As(err, &invalid) && invalid.Fields["reason"] != "":
		problem(http.StatusUnprocessableEntity, "reason", invalid.Fields["reason"])
	case errors.As(err, &invalid) && invalid.Fields["code"] != "":
		problem(http.StatusUnprocessableEntity, "code", invalid.Fields["code"])
	case errors.Is(err, account.ErrPhoneCodeSpent):
		problem(http.StatusGone, "", "That code expired or was tried 5 times. Send a new one.")
	case errors.Is(err, account.ErrInvalidCode) && v.Data.(*resetUserData).CodeSent.IsZero():
		// That was the code's last try: the page no longer has the field.
		problem(http.StatusUnprocessableEntity, "", "That is not the code that was texted, and it was the 5th try: the code no longer works. Send a new one.")
	case errors.Is(err, account.ErrInvalidCode):
		problem(http.StatusUnprocessableEntity, "code", "That is not the code that was texted. Check it with them and type it again.")
	case errors.Is(err, account.ErrPhoneNotVerified):
		problem(http.StatusConflict, "reason", "Check that it is them first with a texted code, or say here how you checked.")
	case errors.Is(err, account.ErrTextsUnavailable):
		problem(http.StatusConflict, "", "Text messages are not set up on this server. Check who the person is another way, and give the reason below.")
	case errors.Is(err, account.ErrNoMobilePhone):
		problem(http.StatusConflict, "", "The account has no mobile phone number to text. Check who the person is another way, and give the reason below.")
	case errors.As(err, &throttled):
		problem(http.StatusTooManyRequests, "", "Three codes were texted to this account in the last hour. Wait "+waitFor(throttled.RetryAfter)+", or check who the person is another way.")
	case errors.Is(err, account.ErrTwoFactorNotEnabled):
		problem(http.StatusConflict, "", "2 factor authentication is off for this account already.")
	default:
		h.fail(w, r, err, recovery{page: pageResetUser, view: v, back: resetPath(id)})
	}
}

// dismissHelpFromPage resolves an account's help request without a reset.
func (h *handler) dismissHelpFromPage(w http.ResponseWriter, r *http.Request) {
	sess, p, id, ok := h.signedInOn(w, r)
	if !ok {
		return
	}
	if err := h.svc.DismissHelpRequest(r.Context(), sess, id, httpauth.Client(r)); err != nil && !errors.Is(err, account.ErrHelpRequestNotFound) {
		h.usersFailed(w, r, sess, p, nil, err)
		return
	}
	h.setFlash(w, flashHelpDismissed)
	redirect(w, r, usersPath)
}
